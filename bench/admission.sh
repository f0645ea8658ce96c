#!/usr/bin/env bash
# Benchmarks `eksguard serve` as the API server uses it: AdmissionReviews of a typical
# Deployment (bench/admission-review.json) POSTed to /validate over keep-alive HTTPS
# connections, with wrk, at each connection count; the server's resident memory is
# sampled every second of each run.
# usage: bench/admission.sh [CONNECTIONS ...]   (default: 4 32; DURATION=60s by default)
# Needs wrk (`apt-get install -y wrk`) and openssl. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-60s}
BIN=${BIN:-target/release/eksguard}
OUT=bench/out
mkdir -p "$OUT"
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet -p eksguard
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$OUT/tls.key" -out "$OUT/tls.crt" 2>/dev/null
"$BIN" serve --listen 127.0.0.1:0 --tls-cert "$OUT/tls.crt" --tls-key "$OUT/tls.key" \
    --metrics-listen 127.0.0.1:0 --no-watch 2> "$OUT/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$OUT/serve.log" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on https:\/\/\(.*\)/\1/p' "$OUT/serve.log")
[ -n "$addr" ] || { cat "$OUT/serve.log" >&2; exit 1; }
# The answer, once, to show what is measured.
curl -sk --data-binary @bench/admission-review.json -H 'Content-Type: application/json' \
    "https://$addr/validate" > "$OUT/admission-answer.json"
echo "answer: $(python3 -c "import json;r=json.load(open('$OUT/admission-answer.json'))['response'];print('allowed' if r['allowed'] else 'denied', len(r.get('warnings', [])), 'warnings')")"

for c in "${@:-4 32}"; do
    rss_file="$OUT/rss-$c.txt"
    : > "$rss_file"
    ( while kill -0 "$server" 2>/dev/null; do
        awk '/VmRSS/ {print $2}' "/proc/$server/status" >> "$rss_file"; sleep 1
      done ) &
    sampler=$!
    threads=$(( c < 2 ? c : 2 ))
    REVIEW=bench/admission-review.json wrk -t"$threads" -c"$c" -d"$DURATION" --latency \
        -s bench/admission.lua "https://$addr/validate" | tee "$OUT/wrk-$c.txt"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    printf 'connections %s: resident memory first %s KiB, last %s KiB, peak %s KiB\n' "$c" \
        "$(head -n 1 "$rss_file")" "$(tail -n 1 "$rss_file")" "$(sort -n "$rss_file" | tail -n 1)"
done
