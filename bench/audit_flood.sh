#!/usr/bin/env bash
# Times AUD020 (bursts of 401/403) on a flood of refusals that each come from a new user
# name and a new source IP, all within one 5-minute window: every key is live at once, the
# worst case for the per-user and per-IP counters and their bound (`max_keys`).
# usage: bench/audit_flood.sh [EVENTS]   (default 1000000; BIN=path/to/eksguard times
#        another build instead of building the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet -p eksguard --no-default-features
    BIN=target/release/eksguard
fi
OUT=bench/out
mkdir -p "$OUT"
LOG="$OUT/flood-$N.log"
[ -f "$LOG" ] || python3 - "$N" "$LOG" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        us = i * 299_000_000 // n
        s, frac = divmod(us, 1_000_000)
        f.write('{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",'
                '"auditID":"%08x-0000-4000-8000-%012x","stage":"ResponseComplete",'
                '"requestURI":"/api/v1/secrets","verb":"list","user":{"username":"guess-%d"},'
                '"sourceIPs":["10.%d.%d.%d"],"objectRef":{"resource":"secrets","apiVersion":"v1"},'
                '"responseStatus":{"code":401},"stageTimestamp":"2024-05-01T12:%02d:%02d.%06dZ"}\n'
                % (i, i, i, i >> 16 & 255, i >> 8 & 255, i & 255, s // 60, s % 60, frac))
PY
/usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" audit scan "$LOG" --no-config \
    --select AUD020 -f json -o "$OUT/flood.json" --fail-on never
read -r secs kb < <(tail -n 1 "$OUT/time.txt")
printf 'audit scan --select AUD020, %d events, %d MB: %.2f s, %.0f k events/s, peak %d MiB\n' \
    "$N" $(( $(stat -c %s "$LOG") / 1000000 )) "$secs" "$(awk "BEGIN{print $N / $secs / 1000}")" $((kb / 1024))
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); [print("  ", f["severity"], f["message"]) for f in r["findings"]]' "$OUT/flood.json"
