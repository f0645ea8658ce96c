#!/usr/bin/env bash
# Benchmarks `eksguard fleet` over a simulated fleet: N EKS clusters (default 200) in two
# regions of a moto server, each with a fake Kubernetes API server (bench/fake_fleet.py:
# 20 namespaces of 20 pods with their Deployments, ReplicaSets, Services and RBAC, about
# 1,500 objects, 20-100 ms latency per request) reached through eksguard's test-only
# endpoint override.
# usage: bench/fleet.sh [CLUSTERS] [CONCURRENCY ...]   (default: 200 8 16 32)
# Prints wall time and peak memory of the release binary at each concurrency.
set -euo pipefail
cd "$(dirname "$0")/.."
clusters=${1:-200}
shift || true
levels=("${@:-8 16 32}")
# EKSGUARD_BIN: a binary built elsewhere (skips the release build).
if [ -z "${EKSGUARD_BIN:-}" ]; then cargo build --release --quiet -p eksguard; fi
BIN=${EKSGUARD_BIN:-target/release/eksguard}
OUT=bench/out
mkdir -p "$OUT"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m moto.server -p "$port" >/dev/null 2>&1 &
pids+=($!)
endpoint="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$endpoint/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done

names=$(python3 - "$endpoint" "$clusters" <<'PY'
import sys, boto3
endpoint, n = sys.argv[1], int(sys.argv[2])
names = []
for i in range(n):
    region = "eu-west-1" if i % 2 else "us-east-1"
    eks = boto3.client("eks", endpoint_url=endpoint, region_name=region,
                       aws_access_key_id="bench", aws_secret_access_key="bench")
    name = f"bench-{i:03d}"
    eks.create_cluster(name=name, roleArn="arn:aws:iam::123456789012:role/cluster",
                       resourcesVpcConfig={"endpointPublicAccess": True})
    names.append(name)
print(" ".join(names))
PY
)
rm -f "$OUT/fleet-map"
# shellcheck disable=SC2086
python3 bench/fake_fleet.py "$OUT/fleet-map" $names &
pids+=($!)
for _ in $(seq 300); do [ -s "$OUT/fleet-map" ] && break; sleep 0.2; done

for c in ${levels[@]}; do
    rm -f "$OUT/fleet-report.json"
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
    EKSGUARD_TEST_EKS_API_ENDPOINTS="$(cat "$OUT/fleet-map")" \
        /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" fleet --endpoint-url "$endpoint" \
        --regions eu-west-1,us-east-1 --concurrency "$c" --no-config --no-progress \
        -f json -o "$OUT/fleet-report.json" --fail-on never || true
    [ -s "$OUT/fleet-report.json" ] || { echo "no report at concurrency $c" >&2; exit 1; }
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    summary=$(python3 -c "import json;d=json.load(open('$OUT/fleet-report.json'));s=d['fleet']['summary'];print(s['clusters_found'], s['read_fully'], d['summary']['resources_scanned'], len(d['findings']))")
    read -r found full objects findings <<<"$summary"
    printf 'fleet, concurrency %2s: %7.2f s   peak %5d MiB   (%s clusters, %s read fully, %s objects, %s findings)\n' \
        "$c" "$secs" $((kb / 1024)) "$found" "$full" "$objects" "$findings"
done
