#!/usr/bin/env bash
# Benchmarks `eksguard audit scan` on generated EKS audit logs (JSON lines).
# usage: bench/audit.sh [SIZE_MB] [STREAM_MB]   (defaults: 1024 and 5120)
# Prints throughput (MB/s, best of 3) and peak memory for a file of SIZE_MB on disk, then
# streams STREAM_MB through a pipe (memory must stay flat), then times
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

best=""; rss=0
for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" audit scan "$LOG" --no-config -q --fail-on never
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
done
printf 'audit scan, %d MB file:        %6.2f s  %6.0f MB/s  peak %4d MiB\n' "$MB" "$best" \
    "$(awk "BEGIN{print $MB / $best}")" $((rss / 1024))

/usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" audit summary "$LOG" -o /dev/null
read -r secs kb < <(tail -n 1 "$OUT/time.txt")
printf 'audit summary, same file:      %6.2f s  %6.0f MB/s  peak %4d MiB\n' "$secs" \
    "$(awk "BEGIN{print $MB / $secs}")" $((kb / 1024))

if [ "$STREAM" -gt 0 ]; then
    # Generating is slower than scanning: replay the file instead, as many times as needed.
    reps=$(( (STREAM + MB - 1) / MB ))
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" sh -c \
        "for i in \$(seq $reps); do cat '$LOG'; done | '$BIN' audit scan - --no-config -q --fail-on never"
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    printf 'audit scan, %d MB via a pipe: %6.2f s  %6.0f MB/s  peak %4d MiB\n' $((reps * MB)) "$secs" \
        "$(awk "BEGIN{print $reps * $MB / $secs}")" $((kb / 1024))
fi

if command -v jq > /dev/null; then
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" jq -c 'select(.verb=="create")' "$LOG" > /dev/null
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    printf 'jq select(.verb=="create"):   %6.2f s  %6.0f MB/s  peak %4d MiB\n' "$secs" \
        "$(awk "BEGIN{print $MB / $secs}")" $((kb / 1024))
else
    echo "SKIPPED: jq not installed"
fi
