#!/usr/bin/env bash
# Benchmarks `eksguard scan` end to end on the shared corpus and on generated objects.
# usage: bench/run.sh [N ...]   (default N: 1000 100000)
# Prints wall time (best of 5, or of 3 for large inputs) and peak memory for each input.
# With CHECKOV=/path/to/checkov set, also times checkov (one run) on generated inputs of
# up to 5,000 objects, for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=target/release/eksguard
OUT=bench/out
mkdir -p "$OUT"

measure() { # name, runs, args...
    local name=$1 runs=$2; shift 2
    local best="" rss=0
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" scan "$@" -q --no-config --fail-on never
        read -r secs kb < <(tail -n 1 "$OUT/time.txt")
        if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
        [ "$kb" -gt "$rss" ] && rss=$kb
    done
    printf '%-34s %8.3f s   peak %6d MiB\n' "$name" "$best" $((rss / 1024))
}

CORPUS=../shared/corpus/manifests
if [ -d "$CORPUS" ]; then
    measure "corpus/manifests ($(find "$CORPUS" -type f | wc -l) files)" 5 "$CORPUS"
else
    echo "SKIPPED: $CORPUS not found"
fi
for n in "${@:-1000 100000}"; do
    for m in $n; do
        dir="$OUT/gen-$m"
        [ -d "$dir" ] || python3 bench/gen.py "$m" "$dir"
        runs=5; [ "$m" -ge 50000 ] && runs=3
        measure "generated $m objects" "$runs" "$dir"
        if [ -n "${CHECKOV:-}" ] && [ "$m" -le 5000 ]; then
            # --skip-download: no network; exit 1 only means checks failed.
            /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$CHECKOV" -d "$dir" --framework kubernetes \
                --skip-download --quiet --compact -o json > "$OUT/checkov-$m.json" 2>/dev/null || true
            read -r secs kb < <(tail -n 1 "$OUT/time.txt")
            printf '%-34s %8.3f s   peak %6d MiB\n' "  checkov, same input" "$secs" $((kb / 1024))
        fi
    done
done
