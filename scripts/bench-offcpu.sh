#!/usr/bin/env bash
# Where a broker drain's loop thread sleeps: COUNT events (default 1,500,000)
# are produced to the embedded broker, `sentrail run` drains them with the pack,
# and for SECONDS_MEASURED (default 1.5) mid-drain perf records every time the
# loop thread leaves the CPU, with its call stack. Each sleep is timed to the
# thread's next recorded event and summed by the innermost Sentrail frames that
# put it to sleep: milliseconds, count, stack.
#   scripts/bench-offcpu.sh                      stored evidence (the default)
#   CONFIG=ref.yml scripts/bench-offcpu.sh       an engine config, e.g. correlation: {evidence: reference}
# Needs perf (apt-get install linux-perf) and permission to trace (perf_event_paranoid).
set -euo pipefail
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
if ! command -v perf >/dev/null; then
  echo "bench-offcpu.sh needs perf: apt-get install linux-perf" >&2
  exit 2
fi
build=${BUILD:-build}
count=${COUNT:-1500000}
seconds=${SECONDS_MEASURED:-1.5}
source "$(dirname "$0")/lib/bench.sh"
bench_setup bench-offcpu
start_broker "$build/sentrail" 16
start_mid_drain "$build" "$count" offcpu
# The main thread's id is the process id: that is the loop thread.
perf record -q -e sched:sched_switch --call-graph dwarf,32768 -t "$engine" -o "$work/perf.data" \
  -- sleep "$seconds" > /dev/null 2>&1
grep -q '^sentrail: events' "$work/run.err" || { echo "the engine did not start: $(cat "$work/run.err")" >&2; exit 1; }
perf script -i "$work/perf.data" -F time,event,trace,ip,sym 2>/dev/null > "$work/switches.txt"
/usr/bin/python3 - "$work/switches.txt" "$seconds" <<'PY'
import re, sys
from collections import Counter
events = []
for block in open(sys.argv[1]).read().split("\n\n"):
    lines = [l for l in block.split("\n") if l.strip()]
    m = re.match(r"\s*([\d.]+):\s+(\S+):\s+(.*)", lines[0]) if lines else None
    if not m:
        continue
    frames = [l.split(None, 1)[1] if len(l.split(None, 1)) > 1 else l for l in lines[1:]]
    events.append((float(m.group(1)), m.group(3), frames))
slept, times = Counter(), Counter()
for (t, trace, frames), nxt in zip(events, events[1:]):
    if "prev_state=S" not in trace and "prev_state=D" not in trace:
        continue  # preempted, not asleep
    # The library call it slept in (librdkafka, RocksDB, a std::future), then
    # the Sentrail frames that made it.
    lib = next((f for f in frames if re.search(r"rd_kafka|rocksdb::|std::|cnd_|pthread_cond", f)
                and "sentrail::" not in f), None)
    ours = [f for f in frames if "sentrail::" in f][:2]
    key = " < ".join(re.sub(r"\(.*", "", f) for f in ([lib] if lib else []) + ours) or "(outside Sentrail)"
    slept[key] += nxt[0] - t
    times[key] += 1
print(f"loop thread asleep {sum(slept.values()) * 1000:.0f} ms of {float(sys.argv[2]) * 1000:.0f} ms measured")
for key, s in slept.most_common(8):
    print(f"{s * 1000:8.1f} ms {times[key]:5d}x  {key[:200]}")
PY
