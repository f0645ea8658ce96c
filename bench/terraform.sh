#!/usr/bin/env bash
# Benchmarks `eksguard scan` end to end on a generated Terraform tree (bench/terraform_gen.py:
# N directories of six .tf files, default 50, so 300 files), best of 5 runs, with peak
# memory. With CHECKOV and/or TRIVY set to their binaries, times them on the same tree
# (one run each: `checkov -d DIR --framework terraform`, `trivy config --skip-check-update
# DIR`) and counts what each reports.
# usage: bench/terraform.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
# The scan needs no live AWS or Kubernetes client: build without them, which is quicker.
cargo build --release --quiet -p eksguard --no-default-features
BIN=target/release/eksguard
OUT=bench/out
N=${1:-50}
DIR="$OUT/terraform-$N"
mkdir -p "$OUT"
[ -d "$DIR" ] || python3 bench/terraform_gen.py "$DIR" "$N"
FILES=$(find "$DIR" -name '*.tf' | wc -l)

best=""
rss=0
for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" scan "$DIR" -q --no-config --fail-on never
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
done
"$BIN" scan "$DIR" --no-config --fail-on never -f json > "$OUT/eksguard-terraform.json"
findings=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$OUT/eksguard-terraform.json")
printf '%-10s %4d files  %8.3f s  peak %4d MiB  %5d findings\n' eksguard "$FILES" "$best" $((rss / 1024)) "$findings"

if [ -n "${CHECKOV:-}" ]; then
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$CHECKOV" -d "$DIR" --framework terraform \
        --skip-download --quiet --compact -o json > "$OUT/checkov-terraform.json" || true
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    failed=$(python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
d = d if isinstance(d, list) else [d]
print(sum(len(r.get('results', {}).get('failed_checks', [])) for r in d))" "$OUT/checkov-terraform.json")
    printf '%-10s %4d files  %8.3f s  peak %4d MiB  %5d failed checks\n' checkov "$FILES" "$secs" $((kb / 1024)) "$failed"
fi
if [ -n "${TRIVY:-}" ]; then
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$TRIVY" config --skip-check-update --quiet \
        -f json -o "$OUT/trivy-terraform.json" "$DIR" || true
    read -r secs kb < <(tail -n 1 "$OUT/time.txt")
    failed=$(python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(len(r.get('Misconfigurations') or []) for r in d.get('Results') or []))" "$OUT/trivy-terraform.json")
    printf '%-10s %4d files  %8.3f s  peak %4d MiB  %5d misconfigurations\n' trivy "$FILES" "$secs" $((kb / 1024)) "$failed"
fi
