#!/usr/bin/env bash
# Memory of `eksguard serve` under the largest reviews: 32 keep-alive HTTPS connections
# (wrk) POSTing AdmissionReviews of about 3 MiB (bench/admission_large.py, each shape in
# turn) for DURATION each; the server's resident memory is sampled every 0.2 s and its
# peak (VmHWM) read at the end. Prints wrk's latency distribution and the peaks.
# usage: bench/admission_large.sh [SHAPE ...]   (default: env containers update)
# Needs wrk (`apt-get install -y wrk`), openssl and python3. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-32}
BIN=${BIN:-target/release/eksguard}
OUT=bench/out
mkdir -p "$OUT"
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet -p eksguard
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$OUT/tls.key" -out "$OUT/tls.crt" 2>/dev/null

for shape in "${@:-env containers update}"; do
    python3 bench/admission_large.py "$shape" > "$OUT/large-$shape.json"
    "$BIN" serve --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --no-watch \
        --tls-cert "$OUT/tls.crt" --tls-key "$OUT/tls.key" ${SERVE_ARGS:-} 2> "$OUT/serve-$shape.log" &
    server=$!
    trap 'kill $server 2>/dev/null || true' EXIT
    for _ in $(seq 100); do grep -q 'listening on' "$OUT/serve-$shape.log" && break; sleep 0.1; done
    addr=$(sed -n 's/.*listening on https:\/\/\(.*\)/\1/p' "$OUT/serve-$shape.log")
    [ -n "$addr" ] || { cat "$OUT/serve-$shape.log" >&2; exit 1; }
    rss_file="$OUT/rss-large-$shape.txt"
    : > "$rss_file"
    ( while kill -0 "$server" 2>/dev/null; do
        awk '/VmRSS/ {print $2}' "/proc/$server/status" >> "$rss_file" 2>/dev/null || true; sleep 0.2
      done ) &
    sampler=$!
    echo "== $shape: $(wc -c < "$OUT/large-$shape.json") bytes, $CONNECTIONS connections, $DURATION"
    REVIEW="$OUT/large-$shape.json" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --timeout 30s --latency \
        -s bench/admission.lua "https://$addr/validate" | tee "$OUT/wrk-large-$shape.txt"
    peak=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    kill "$server"; wait "$server" 2>/dev/null || true
    printf '%s: resident memory peak %s KiB (VmHWM), highest sample %s KiB\n' "$shape" \
        "$peak" "$(sort -n "$rss_file" | tail -n 1)"
done
