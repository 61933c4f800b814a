#!/usr/bin/env bash
# make bench: every benchmark in one run on this machine, so figures are ratios.
#   1. Google Benchmark micro-benchmarks of the hot components;
#   2. the single rule "≥ 5 failed web logins per IP in 60 s": sentrail replay vs a
#      hand-written simdjson + hash-map loop vs raw simdjson parsing, same file,
#      and a check that engine and loop raise identical alerts;
#   3. sentrail replay with the whole rule pack (scripts/bench-replay.sh);
#   4. an attack burst on one correlation group against the same events spread out
#      (scripts/bench-burst.sh);
#   5. state scaling (sentrail-bench-state) up to ENTITIES (default 1000000).
set -euo pipefail
build=${BUILD:-build}
work=$(mktemp -d "${TMPDIR:-/tmp}/sentrail-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SENTRAIL_HMAC_KEY=bench-key-0123456789abcdef
source "$(dirname "$0")/lib/build_info.sh"
build_info "$build"
rate() { sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p'; }

echo "== micro-benchmarks"
"$build/sentrail-micro" --benchmark_min_time=0.2 2>/dev/null | grep -v '^\*\*\*'

echo "== one rule, engine vs hand-written loop (web events of 2,500,000 generated)"
"$build/sentrail" gen --seed 42 --count "${COUNT:-2500000}" --out "$work/events" >/dev/null 2>&1
web="$work/events/web.jsonl"
echo "input: $(wc -l < "$web") web events, $(du -h "$web" | cut -f1)"
raw=$("$build/sentrail-raw-parse" "$web" | tee >(cat >&2) | rate)
loop=$("$build/sentrail-handwritten-loop" "$web" 2>"$work/loop.err" >"$work/loop.alerts"; cat "$work/loop.err" >&2; rate < "$work/loop.err")
engine=$("$build/sentrail" replay --rules bench/single-rule.yml --channel web "$web" 2>"$work/engine.err" >"$work/engine.json"; grep 'sentrail replay:' "$work/engine.err" >&2; grep 'sentrail replay:' "$work/engine.err" | rate)
/usr/bin/python3 - "$work/engine.json" > "$work/engine.alerts" <<'PY'
import json, sys
from datetime import datetime
def ns(t): return int(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1e3) * 1_000_000
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a["rule"]["id"] == "bench-five-failures-per-ip":
        print(a["group"]["source.ip"], ns(a["first_seen"]), ns(a["last_seen"]))
PY
if diff <(sort "$work/loop.alerts") <(sort "$work/engine.alerts") >/dev/null; then
  same="identical ($(wc -l < "$work/loop.alerts") alerts)"
else
  same="DIFFERENT: loop $(wc -l < "$work/loop.alerts"), engine $(wc -l < "$work/engine.alerts")"
fi
awk -v r="$raw" -v l="$loop" -v e="$engine" -v s="$same" 'BEGIN {
  print "(rates over the whole file, reading it included, for all three: replay reads inside its timer)"
  printf "raw simdjson parse          %10d events/s  %.2f of raw\n", r, 1
  printf "hand-written loop           %10d events/s  %.2f of raw\n", l, l / r
  printf "sentrail replay, same rule  %10d events/s  %.2f of raw, %.2f of the loop\n", e, e / r, e / l
  printf "alerts: %s\n", s
}'

echo "== whole rule pack"
BUILD="$build" COUNT=1000000 scripts/bench-replay.sh

echo "== an attack burst on one group vs the same events spread over groups"
BUILD="$build" scripts/bench-burst.sh

echo "== state vs live entities"
"$build/sentrail-bench-state" "$work/state" 1000 100000 ${ENTITIES:-1000000}
