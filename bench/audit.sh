#!/usr/bin/env bash
# Benchmarks `eksguard audit scan` on generated EKS audit logs (JSON lines).
# usage: bench/audit.sh [SIZE_MB] [STREAM_MB]   (defaults: 1024 and 5120)
# Prints throughput (best of 3) and peak memory for a file of SIZE_MB on disk, then streams
# STREAM_MB through a pipe (memory must stay flat: summary, and scan writing JSON lines;
# the document formats keep their findings for the report), then times
# `jq -c 'select(.verb=="create")'` on the same file when jq is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
STREAM=${2:-5120}
# The audit path needs no AWS SDK: build without it.
cargo build --release --quiet -p eksguard --no-default-features
BIN=target/release/eksguard
OUT=bench/out
mkdir -p "$OUT"
LOG="$OUT/audit-$SIZE.log"
[ -f "$LOG" ] || python3 bench/audit_gen.py "$SIZE" "$LOG"
MB=$(( $(stat -c %s "$LOG") / 1000000 ))

report() { # label, megabytes
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    printf '%-38s %7.2f s %6.0f MB/s   peak %5d MiB\n' "$1" "$secs" \
        "$(awk "BEGIN{print $2 / $secs}")" $((kb / 1024))
}

best=""; rss=0
for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" audit scan "$LOG" --no-config -q --fail-on never
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
done
echo "$best $rss" > "$OUT/time.txt"
report "audit scan, $MB MB file" "$MB"

/usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" audit summary "$LOG" -o /dev/null
report "audit summary, same file" "$MB"

if [ "$STREAM" -gt 0 ]; then
    # Generating is slower than scanning: replay the file as many times as needed, each
    # copy with its own audit IDs (sed), so no copy is dropped as a repeat of another.
    # The pipe's throughput is bounded by sed; these runs show memory staying flat.
    reps=$(( (STREAM + MB - 1) / MB ))
    replay="for i in \$(seq $reps); do sed \"s/\\\"auditID\\\":\\\"/&r\$i-/\" '$LOG'; done"
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" sh -c "$replay | '$BIN' audit summary - -o /dev/null"
    report "audit summary, $((reps * MB)) MB through a pipe" $((reps * MB))
    # JSON lines: each finding is written as it is found, none is kept.
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" sh -c \
        "$replay | '$BIN' audit scan - --no-config -f jsonl -o /dev/null --fail-on never"
    report "audit scan -f jsonl, $((reps * MB)) MB through a pipe" $((reps * MB))
fi

if command -v jq > /dev/null; then
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" jq -c 'select(.verb=="create")' "$LOG" > /dev/null
    report "jq -c 'select(.verb==\"create\")'" "$MB"
else
    echo "SKIPPED: jq not installed"
fi
