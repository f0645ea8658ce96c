#!/usr/bin/env bash
# Times `eksguard scan` on the shared manifest corpus in each output: nothing (`-q`), JSON
# and text with code frames, all to /dev/null, best of RUNS (hyperfine when installed).
# usage: bench/corpus.sh [RUNS]   (default 10; BIN=path/to/eksguard times another build;
#        REF=path/to/eksguard first checks that both builds write the same JSON and text)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
CORPUS=../shared/corpus/manifests
if [ ! -d "$CORPUS" ]; then
    echo "SKIPPED: $CORPUS not found"
    exit 0
fi
if [ -z "${BIN:-}" ]; then
    # The manifest scan needs neither the AWS SDK nor the cluster client: built without.
    cargo build --release --quiet -p eksguard --no-default-features
    BIN=target/release/eksguard
fi
OUT=bench/out
mkdir -p "$OUT"
echo "load: $(uptime | sed 's/.*load average: //')"
if [ -n "${REF:-}" ]; then
    for f in json text; do
        "$REF" scan "$CORPUS" --no-config -f "$f" > "$OUT/corpus-ref.$f" || true
        "$BIN" scan "$CORPUS" --no-config -f "$f" > "$OUT/corpus.$f" || true
        if cmp -s "$OUT/corpus-ref.$f" "$OUT/corpus.$f"; then
            echo "-f $f: identical to $REF"
        else
            echo "-f $f: DIFFERS from $REF (diff $OUT/corpus-ref.$f $OUT/corpus.$f)"
        fi
    done
fi

best() { # label, args...: prints the best wall time in seconds
    local label=$1; shift
    local secs
    if command -v hyperfine > /dev/null; then
        hyperfine -N -w 2 -r "$RUNS" -i --export-json "$OUT/h.json" \
            "$BIN scan $CORPUS --no-config $*" > /dev/null 2>&1
        secs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["min"])' "$OUT/h.json")
    else
        secs=""
        for _ in $(seq "$RUNS"); do
            /usr/bin/time -f "%e" -o "$OUT/time.txt" "$BIN" scan "$CORPUS" --no-config "$@" > /dev/null || true
            s=$(tail -n 1 "$OUT/time.txt")
            if [ -z "$secs" ] || awk "BEGIN{exit !($s < $secs)}"; then secs=$s; fi
        done
    fi
    /usr/bin/time -f "%M" -o "$OUT/time.txt" "$BIN" scan "$CORPUS" --no-config "$@" > /dev/null || true
    printf '%-22s %7.3f s   peak %4d MiB\n' "$label" "$secs" $(( $(tail -n 1 "$OUT/time.txt") / 1024 )) >&2
    echo "$secs"
}

best "scan -q" -q > /dev/null
json=$(best "scan -f json" -f json)
text=$(best "scan (text, frames)" -f text)
awk "BEGIN{printf \"text / json: %.2f\n\", $text / $json}"
