#!/usr/bin/env bash
# Benchmarks the HTML report in a browser: a report of at least 20,000 findings opened in
# headless Chromium, timed from navigation to interactive (the page's script has run and
# a filter answers), and the time one free-text filter over every row takes.
# usage: bench/html.sh [OBJECTS]   (default 10000 generated objects: over 20,000 findings)
# Needs Node.js, Chromium at /usr/bin/chromium (or CHROMIUM) and `npm ci` in
# crates/eksguard/tests/browser.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
OUT=bench/out
mkdir -p "$OUT"
# EKSGUARD_BIN: a binary already built (the page is the same from any build).
if [ -n "${EKSGUARD_BIN:-}" ]; then
    BIN=$EKSGUARD_BIN
else
    cargo build --release --quiet
    BIN=target/release/eksguard
fi
rm -rf "$OUT/html-objects"
python3 bench/gen.py "$N" "$OUT/html-objects" >/dev/null
/usr/bin/time -f "%e s to write the report" "$BIN" scan "$OUT/html-objects" --no-config --fail-on never \
    -f html -o "$OUT/report-20k.html"
FINDINGS=$(grep -o '<details class="f"' "$OUT/report-20k.html" | wc -l)
printf '%d findings, %d MiB of HTML\n' "$FINDINGS" $(( $(stat -c %s "$OUT/report-20k.html") / 1048576 ))
node crates/eksguard/tests/browser/report.mjs bench "$OUT/report-20k.html" 3
