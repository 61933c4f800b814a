#!/usr/bin/env bash
# A/B of two (or more) sentrail binaries, alternating, on the same input, since
# this machine's speed drifts by ±20% between minutes and single runs mislead.
#   scripts/bench-ab.sh replay ROUNDS BIN...   pack replay of 1M generated events: events/s and max RSS
#   scripts/bench-ab.sh instructions ROUNDS BIN...  pack replay of COUNT (default 200000) events under
#                                             valgrind (cachegrind): instructions, which do not drift
#                                             with the machine, and whether the alerts are identical
#   scripts/bench-ab.sh drain ROUNDS BIN...    one broker, COUNT (default 500000) events preloaded;
#                                             each binary drains them with its own group and state
#                                             (BIN,CONFIG runs BIN with that engine config); prints
#                                             events/s, the engine's CPU per event (all threads, from
#                                             its start), the state directory's size, what RocksDB's
#                                             compactions wrote and the two column families its
#                                             memtable flushes wrote most to (its LOG,
#                                             scripts/lib/flushed.py), the engine's peak RSS at the
#                                             end, the reorder buffer's peak (status lines, every
#                                             50 ms), and from /metrics how long the loop
#                                             waited for store writes (of its batches' time) and
#                                             evidence read back from Kafka
# RULES (default rules/pack) is the rule file or folder; an empty folder measures the rest.
# PARTITIONS (default 16) per topic: the embedded broker keeps about 5 MiB of each, so a
# drain of more than 2M events needs more (COUNT=4000000 PARTITIONS=40).
# Example: build the old revision into another build dir, then
#   scripts/bench-ab.sh drain 3 old-build/sentrail build/sentrail
#   scripts/bench-ab.sh drain 3 build/sentrail build/sentrail,by-reference.yml
set -euo pipefail
mode=${1:-}; rounds=${2:-}
if [[ "$mode" != replay && "$mode" != drain && "$mode" != instructions ]] || ! [[ "$rounds" =~ ^[0-9]+$ ]] ||
  [[ $# -lt 3 ]]; then
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
shift 2
bins=() configs=()
for b in "$@"; do
  config=""
  [[ "$b" == *,* ]] && config=$(realpath "${b#*,}") && b=${b%%,*}
  bins+=("$(realpath "$b")") configs+=("$config")
done
rules=$(realpath "${RULES:-rules/pack}")
gen=${bins[-1]}
source "$(dirname "$0")/lib/bench.sh"
bench_setup ab

if [[ $mode == replay ]]; then
  "$gen" gen --seed 42 --count "${COUNT:-1000000}" --out "$work/events" >/dev/null 2>&1
  for _ in $(seq "$rounds"); do
    for b in "${bins[@]}"; do
      out=$(/usr/bin/time -f "max RSS %M KiB" "$b" replay --rules "$rules" --output none "$work"/events/{web,mobile,pos,supplier,badge}.jsonl 2>&1 >/dev/null)
      echo "$b: $(grep -o '[0-9]* alerts' <<<"$out"), $(grep -o '[0-9]* events/s' <<<"$out"), $(grep -o 'max RSS.*' <<<"$out")"
    done
  done
  exit 0
fi

if [[ $mode == instructions ]]; then
  if ! command -v valgrind >/dev/null; then
    echo "bench-ab.sh instructions needs valgrind (apt-get install valgrind)" >&2
    exit 2
  fi
  "$gen" gen --seed 42 --count "${COUNT:-200000}" --out "$work/events" >/dev/null 2>&1
  n=0
  for _ in $(seq "$rounds"); do
    for b in "${bins[@]}"; do
      n=$((n + 1))
      out=$(valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$b" replay --rules "$rules" \
        --output json "$work"/events/{web,mobile,pos,supplier,badge}.jsonl 2>&1 >"$work/alerts$n.json")
      same=identical
      cmp -s "$work/alerts1.json" "$work/alerts$n.json" || same="DIFFERENT from the first binary's"
      echo "$b: $(grep -o 'I *refs: *[0-9,]*' <<<"$out" | tr -s ' '), $(wc -l <"$work/alerts$n.json") alerts, $same"
    done
  done
  exit 0
fi

count=${COUNT:-500000}
start_broker "$gen" "${PARTITIONS:-16}"
"$gen" gen --seed 7 --count "$count" --brokers "$bootstrap" > /dev/null 2>&1
n=0
for _ in $(seq "$rounds"); do
  for i in "${!bins[@]}"; do
    n=$((n + 1))
    b=${bins[$i]} config=${configs[$i]}
    rate=$(drain_rate "$b" "$bootstrap" "$rules" "$work/state$n" "ab$n" "$count" "$work/run$n.err" "$config")
    cpu=$(cat "$work/run$n.err.cpu" 2>/dev/null || echo "?")
    # What the loop waited for, from the engine's /metrics at the end of the drain.
    waits=$(awk '/^sentrail_state_write_wait_seconds_total / { w = $2 }
      /^sentrail_batch_duration_seconds_sum / { b = $2 }
      /^sentrail_evidence_reads_total\{source="kafka"\}/ { k = $2 }
      END { if (b > 0) printf "; waited for writes %.2f of %.2f s in batches", w, b; if (k != "") printf ", %d events read back from Kafka", k }' \
      "$work/run$n.err.metrics" 2>/dev/null || true)
    # What RocksDB's compactions wrote (its LOG: "compacted to: ... MB in(...) out(N"), in MiB.
    # (A drain too short to compact has no such line: grep fails, which must not end the script.)
    compacted=$({ grep -ho 'compacted to: .*MB in([^)]*) out([0-9.]*' "$work/state$n"/LOG* 2>/dev/null || true; } |
      sed 's/.*out(//' | awk '{ s += $1 } END { printf "%.0f", s }')
    flushed=$(/usr/bin/python3 "$(dirname "$0")/lib/flushed.py" "$work/state$n" | cut -d, -f1-2)
    echo "$b${config:+ ($config)}: drained at $rate events/s; $(awk -v c="$cpu" -v n="$count" 'BEGIN { if (c == "?") print "CPU ?"; else printf "CPU %.1f us/event", 1e6 * c / n }'); state $(du -sm "$work/state$n" | cut -f1) MiB, compactions wrote $compacted MiB, flushes wrote $flushed; peak RSS $(cat "$work/run$n.err.rss" 2>/dev/null || echo "?") MiB; reorder buffer peak $(grep -o 'reorder buffer [0-9]*' "$work/run$n.err" | awk '$3 > m { m = $3 } END { print m + 0 }') events$waits"
  done
done
