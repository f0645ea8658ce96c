#!/usr/bin/env bash
# Benchmarks `eksguard audit scan --cloudwatch --follow` against a moto server it starts:
# events per second judged while following, and the lag from an event's ingestion to its
# finding at a 2-second poll interval (see bench/follow.py).
# usage: bench/follow.sh [EVENTS] [MARKERS]   (defaults: 50000 and 20; BIN=path/to/eksguard
#        times another build instead of building the release binary; needs moto[server])
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BIN:-}" ]; then
    cargo build --release --quiet -p eksguard
    BIN=target/release/eksguard
fi
PORT=${MOTO_PORT:-5098}
python3 -m moto.server -p "$PORT" >/tmp/eksguard-bench-moto.log 2>&1 &
MOTO=$!
trap 'kill "$MOTO" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/', timeout=2)" 2>/dev/null && break
    sleep 0.5
done
python3 bench/follow.py "$BIN" "http://127.0.0.1:$PORT" "${1:-50000}" "${2:-20}"
