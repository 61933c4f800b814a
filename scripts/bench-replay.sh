#!/usr/bin/env bash
# Replay throughput next to its baseline, in one run on the same files:
#   1. sentrail gen writes COUNT events (default 1,000,000) of all five channels;
#   2. raw simdjson ondemand walks every field of every line (the ceiling);
#   3. sentrail replay decodes, normalises and minimises them with no rules;
#   4. sentrail replay again with the shipped rule pack.
# Figures are events/s and ratios against (2).
set -euo pipefail
build=${BUILD:-build}
count=${COUNT:-1000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/sentrail-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SENTRAIL_HMAC_KEY=bench-key-0123456789abcdef
source "$(dirname "$0")/lib/build_info.sh"
build_info "$build"
mkdir -p "$work/empty-rules"

"$build/sentrail" gen --seed 42 --count "$count" --out "$work/events" >/dev/null 2>&1
files=("$work"/events/{web,mobile,pos,supplier,badge}.jsonl)
echo "input: $count events, $(du -ch "${files[@]}" | tail -1 | cut -f1) in ${files[*]##*/}"

rate() { sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p'; }
raw=$("$build/sentrail-raw-parse" "${files[@]}" | tee >(cat >&2) | rate)
decode=$("$build/sentrail" replay --rules "$work/empty-rules" --output none "${files[@]}" 2>&1 >/dev/null | grep 'sentrail replay:' | tee >(cat >&2) | rate)
pack=$("$build/sentrail" replay --rules rules/pack --output none "${files[@]}" 2>&1 >/dev/null | grep 'sentrail replay:' | tee >(cat >&2) | rate)
awk -v r="$raw" -v d="$decode" -v p="$pack" 'BEGIN {
  printf "raw simdjson walk        %10d events/s  1.00\n", r
  printf "replay, no rules         %10d events/s  %.2f of raw\n", d, d / r
  printf "replay, rules/pack       %10d events/s  %.2f of raw\n", p, p / r
}'
