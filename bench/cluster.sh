#!/usr/bin/env bash
# Benchmarks `eksguard cluster` end to end against a simulated cluster: 10,000 pods in 500
# namespaces with their Deployments and ReplicaSets, 5,000 services, 1,500 service
# accounts, RBAC, served by bench/fake_apiserver.py 500 items a page.
# usage: bench/cluster.sh [LATENCY_MS ...]   (default: 0 20)
# Prints wall time (best of 3) and peak memory of the release binary for each latency.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p eksguard
BIN=target/release/eksguard
OUT=bench/out
mkdir -p "$OUT"

for latency in "${@:-0 20}"; do
    rm -f "$OUT/port"
    python3 bench/fake_apiserver.py "$OUT/port" --latency-ms "$latency" &
    server=$!
    trap 'kill $server 2>/dev/null || true' EXIT
    for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.2; done
    cat > "$OUT/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: bench
clusters: [{name: bench, cluster: {server: "http://127.0.0.1:$(cat "$OUT/port")"}}]
contexts: [{name: bench, context: {cluster: bench, user: bench}}]
users: [{name: bench, user: {token: bench}}]
KC
    best="" rss=0
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" cluster --kubeconfig "$OUT/kubeconfig" \
            --no-config --no-progress -f json -o "$OUT/cluster-report.json" --fail-on never
        read -r secs kb < <(tail -n 1 "$OUT/time.txt")
        if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
        [ "$kb" -gt "$rss" ] && rss=$kb
    done
    objects=$(python3 -c "import json;print(json.load(open('$OUT/cluster-report.json'))['summary']['resources_scanned'])")
    findings=$(python3 -c "import json;print(len(json.load(open('$OUT/cluster-report.json'))['findings']))")
    printf 'cluster, %5s ms latency per request: %8.3f s   peak %6d MiB   (%s objects, %s findings)\n' \
        "$latency" "$best" $((rss / 1024)) "$objects" "$findings"
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    trap - EXIT
done
