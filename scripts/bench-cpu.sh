#!/usr/bin/env bash
# Where a broker drain's CPU goes: COUNT events (default 1,000,000) are produced
# to the embedded broker, `sentrail run` drains them with the shipped pack, and
# over SECONDS_MEASURED (whole seconds, default 4) in the middle of the drain this prints
#   - the machine's idle share (/proc/stat), and
#   - CPU per thread of the engine and the broker (utime+stime from
#     /proc/PID/task/*/stat; one core = 100%), threads of one name summed, and
#     each process's total (exited threads included) and CPU per event.
#   scripts/bench-cpu.sh    COUNT=500000 SECONDS_MEASURED=3 scripts/bench-cpu.sh
#   CONFIG=no-fsync.yml scripts/bench-cpu.sh    # an engine config, e.g. store: {sync_writes: false}
#   RULES=EMPTY_DIR scripts/bench-cpu.sh        # other rules (default rules/pack); no rules measures the rest
set -euo pipefail
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
build=${BUILD:-build}
count=${COUNT:-1000000}
seconds=${SECONDS_MEASURED:-4}
source "$(dirname "$0")/lib/bench.sh"
bench_setup bench-cpu
start_broker "$build/sentrail" 16
broker=${pids[0]}
start_mid_drain "$build" "$count" cpu
ticks=$(getconf CLK_TCK)
threads() {  # pid name ticks, one line per thread
  for p in "$engine" "$broker"; do
    for t in /proc/"$p"/task/*; do
      # A thread may end between the listing and the read: skip it.
      local used comm
      used=$(stat_ticks "$t/stat") && comm=$(cat "$t/comm" 2>/dev/null) || continue
      echo "$p ${comm// /_} $used"
    done
  done
}
idle() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
# The whole process, threads that have exited included.
threads > "$work/before"; read -r idle0 total0 < <(idle)
engine0=$(cpu_ticks "$engine"); broker0=$(cpu_ticks "$broker")
events0=$(grep -o '^sentrail: events [0-9]*' "$work/run.err" | tail -1 | cut -d' ' -f3)
sleep "$seconds"
threads > "$work/after"; read -r idle1 total1 < <(idle)
engine1=$(cpu_ticks "$engine"); broker1=$(cpu_ticks "$broker")
events1=$(grep -o '^sentrail: events [0-9]*' "$work/run.err" | tail -1 | cut -d' ' -f3)
if [[ "$events1" -ge "$count" ]]; then
  echo "the drain ended inside the window; raise COUNT or lower SECONDS_MEASURED" >&2
  exit 1
fi
awk -v n=$((events1 - events0)) -v secs="$seconds" -v idle=$((idle1 - idle0)) -v total=$((total1 - total0)) \
  -v e=$((engine1 - engine0)) -v b=$((broker1 - broker0)) -v ticks="$ticks" -v count="$count" 'BEGIN {
  printf "drain of %d events: %d events in %d s (%.0f/s); machine idle %.0f%%\n", count, n, secs, n / secs, 100 * idle / total
  printf "engine process %.0f%%, broker process %.0f%%: %.1f us of CPU per event\n",
    100 * e / ticks / secs, 100 * b / ticks / secs, 1e6 * (e + b) / ticks / n }'
awk -v ticks="$ticks" -v secs="$seconds" -v engine="$engine" '
  NR == FNR { before[$1 " " $2] += $3; next }
  { after[$1 " " $2] += $3 }
  END {
    for (k in after) {
      split(k, id, " ")
      share = 100 * (after[k] - before[k]) / ticks / secs
      if (share >= 0.5) printf "%-7s %-20s %5.1f%%\n", (id[1] == engine ? "engine" : "broker"), id[2], share
    }
  }' "$work/before" "$work/after" | sort -k3 -nr
