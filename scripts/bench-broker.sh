#!/usr/bin/env bash
# One worker through the embedded broker:
#   1. sustained rate: COUNT events (default 1,000,000) are produced first, then
#      `sentrail run` drains them; events/s from its status lines; the same with
#      evidence by reference; then the same events drained with no rules (the
#      baseline: broker, librdkafka, decoding);
#   2. latency: live traffic at RATE events/s (default: half the sustained rate
#      measured in step 1): exact percentiles of an alert's arrival on the alerts
#      topic minus its last event's time (scripts/lib/alert_latency.py), then the
#      engine's own histogram of event time → alert published
#      (sentrail_alert_latency_seconds, per kind) read from /metrics.
set -euo pipefail
build=${BUILD:-build}
count=${COUNT:-1000000}
source "$(dirname "$0")/lib/bench.sh"
bench_setup bench-broker
start_broker "$build/sentrail" 16
"$build/sentrail" gen --seed 7 --count "$count" --brokers "$bootstrap" > /dev/null 2>&1
drain() { drain_rate "$build/sentrail" "$bootstrap" "$1" "$work/state-$2" "$2" "$count" "$work/$2.err"; }
sustained=$(drain rules/pack drain-pack)
echo "sustained: $count events drained at $sustained events/s (one worker, 16 partitions x 5 topics)"
# The same with evidence by reference (correlation.evidence: reference): no copy
# of each correlated event in state, one record per batch for the reorder buffer.
printf 'correlation:\n  evidence: reference\n' > "$work/reference.yml"
by_reference=$(drain_rate "$build/sentrail" "$bootstrap" rules/pack "$work/state-reference" drain-reference "$count" \
  "$work/drain-reference.err" "$work/reference.yml")
echo "by reference: the same events drained at $by_reference events/s with correlation.evidence: reference"
# The baseline in the same run: the same events, consumed, decoded, minimised and
# committed with no rule at all (what the broker, librdkafka and decoding allow).
mkdir -p "$work/no-rules"
baseline=$(drain "$work/no-rules" drain-none)
awk -v s="$sustained" -v b="$baseline" \
  'BEGIN { printf "baseline: the same events with no rules drained at %d events/s; the pack runs at %.2f of it\n", b, s / b }'

rate=${RATE:-$((sustained / 2))}
port=$((20000 + RANDOM % 20000))
# Live traffic only: the new group starts at the topics' ends, so the million
# events of step 1 (event times in the past) do not count as late alerts.
printf 'kafka:\n  properties:\n    consumer.auto.offset.reset: latest\n' > "$work/latency.yml"
"$build/sentrail" run --config "$work/latency.yml" --brokers "$bootstrap" --rules rules/pack --state "$work/state2" \
  --group latency --metrics-port "$port" --output none > /dev/null 2> "$work/run2.err" &
pids+=($!)
sleep 4
live=${SECONDS_LIVE:-30}
start_alert_latency "$bootstrap" $((live + 8)) "$work/arrival.txt"
"$build/sentrail" gen --brokers "$bootstrap" --rate "$rate" --duration "$live" --attack-rate 50 \
  > /dev/null 2>&1
sleep 8
curl -s "http://127.0.0.1:$port/metrics" > "$work/metrics.txt"
echo "latency at $rate events/s, as a consumer of the alerts topic sees it:"
finish_alert_latency "$work/arrival.txt" > "$work/arrival.out"  # not in a pipe: it waits for its child
sed 's/^/  /' "$work/arrival.out"
/usr/bin/python3 - "$work/metrics.txt" "$rate" <<'PY'
import re, sys
buckets, counts = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'sentrail_alert_latency_seconds_bucket\{kind="([^"]+)",le="([^"]+)"\} (\S+)', line)
    if m:
        le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
        buckets.setdefault(m.group(1), []).append((le, float(m.group(3))))
    m = re.match(r'sentrail_alert_latency_seconds_count\{kind="([^"]+)"\} (\S+)', line)
    if m:
        counts[m.group(1)] = float(m.group(2))
def q(kind, p):
    for le, c in sorted(buckets[kind]):
        if c >= p * counts[kind]:
            return le
for kind in sorted(counts):
    print(f"latency at {sys.argv[2]} events/s, {kind}: {int(counts[kind])} alerts; event time -> published: "
          f"p50 <= {q(kind, 0.5)} s, p99 <= {q(kind, 0.99)} s, p99.9 <= {q(kind, 0.999)} s (histogram bucket bounds)")
PY
