#!/usr/bin/env bash
# Audit scan throughput as findings grow: generated logs where about 10% of events carry
# findings (a normal day) and about 70% (an incident), each timed with
# `audit scan -f jsonl -o /dev/null` (every finding resolved and written) and against
# `jq -c . > /dev/null` on the same file, best of RUNS, with peak memory.
# usage: bench/audit_findings.sh [SIZE_MB] [RUNS]   (defaults 512 and 3; BIN=path/to/eksguard
#        times another build)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-512}
RUNS=${2:-3}
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet -p eksguard --no-default-features
    BIN=target/release/eksguard
fi
OUT=bench/out
mkdir -p "$OUT"
echo "load: $(uptime | sed 's/.*load average: //')"

best() { # label, megabytes, command...: best wall time of RUNS, peak memory, MB/s
    local label=$1 mb=$2; shift 2
    local secs="" rss=0
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > /dev/null || true
        read -r s kb < <(tail -n 1 "$OUT/time.txt")
        if [ -z "$secs" ] || awk "BEGIN{exit !($s < $secs)}"; then secs=$s; fi
        [ "$kb" -gt "$rss" ] && rss=$kb
    done
    printf '%-34s %7.2f s %6.0f MB/s   peak %5d MiB\n' "$label" "$secs" \
        "$(awk "BEGIN{print $mb / $secs}")" $((rss / 1024)) >&2
    echo "$secs"
}

# The generator's incident share: 7 gives about 10% of events with findings, 69 about 70%.
for share in 7 69; do
    LOG="$OUT/audit-$SIZE-$share.log"
    [ -f "$LOG" ] || python3 bench/audit_gen.py "$SIZE" "$LOG" "$share"
    MB=$(( $(stat -c %s "$LOG") / 1000000 ))
    "$BIN" audit scan "$LOG" --no-config -f jsonl -o "$OUT/findings-$share.jsonl" --fail-on never
    events=$(wc -l < "$LOG")
    with=$(python3 -c 'import json,sys
seen=set()
for l in open(sys.argv[1]):
    d=json.loads(l)
    if "rule_id" in d: seen.add(d["location"]["line"])
print(len(seen))' "$OUT/findings-$share.jsonl")
    findings=$(grep -c '"rule_id"' "$OUT/findings-$share.jsonl" || true)
    echo "$MB MB, $events events, $with with findings ($((100 * with / events))%), $findings findings:"
    ours=$(best "  audit scan -f jsonl" "$MB" "$BIN" audit scan "$LOG" --no-config -f jsonl \
        -o /dev/null --fail-on never)
    if command -v jq > /dev/null; then
        theirs=$(best "  jq -c ." "$MB" jq -c . "$LOG")
        awk "BEGIN{printf \"  %.1f times jq\n\", $theirs / $ours}"
    else
        echo "  SKIPPED jq: not installed"
    fi
done
