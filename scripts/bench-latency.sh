#!/usr/bin/env bash
# Alert latency under live traffic, per kind: the embedded broker, `sentrail run`
# (with CONFIG, if given) and `sentrail gen --rate RATE` for SECONDS (default 20).
# Prints, for detection and correlation alerts, the delay from an alert's last
# event to the engine emitting it (emitted_at - last_seen of the alert JSON), and
# the engine's own histogram of event time -> published (sentrail_alert_latency_seconds);
# and first, exact percentiles of each alert's arrival on the alerts topic minus its
# last event's time, read by a consumer (scripts/lib/alert_latency.py).
#   scripts/bench-latency.sh 16000
#   scripts/bench-latency.sh 16000 zero-lateness.yml   # correlation: {allowed_lateness: 0s}
#   scripts/bench-latency.sh 20000 slow-fetch.yml      # kafka: {properties: {consumer.fetch.wait.max.ms: "500"}}
#   PARTITIONS=4 scripts/bench-latency.sh 70000        # partitions per topic (default 16)
set -euo pipefail
rate=${1:-}
if ! [[ "$rate" =~ ^[0-9]+$ ]]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
config=${2:-}
build=${BUILD:-build}
source "$(dirname "$0")/lib/bench.sh"
bench_setup latency
start_broker "$build/sentrail" "${PARTITIONS:-16}"
port=$((20000 + RANDOM % 20000))
"$build/sentrail" run ${config:+--config "$config"} --brokers "$bootstrap" --rules rules/pack --state "$work/state" \
  --metrics-port "$port" --output json > "$work/alerts.jsonl" 2> "$work/run.err" &
engine=$!
pids+=($engine)
sleep 5
live=${SECONDS_LIVE:-20}
start_alert_latency "$bootstrap" $((live + 8)) "$work/arrival.txt"
"$build/sentrail" gen --brokers "$bootstrap" --rate "$rate" --duration "$live" --attack-rate 50 > /dev/null 2>&1 &
generator=$!
# Each process's CPU early in the run and at its end: the embedded broker finds a
# fetch's offset by walking the partition's message sets from the oldest, so
# what it costs grows as the run fills its retention.
sleep 1
cpu_of_processes "$work/cpu-early" 3 broker=$broker_pid engine=$engine generator=$generator
sleep $((live > 9 ? live - 9 : 0))
cpu_of_processes "$work/cpu-late" 3 broker=$broker_pid engine=$engine generator=$generator
wait "$generator" || true
sleep 8
finish_alert_latency "$work/arrival.txt"
echo "CPU (% of one core; 2 cores here), seconds 1-4 of the traffic -> its last seconds:" \
  "$(join "$work/cpu-early" "$work/cpu-late" | awk '{ printf "%s%s %s -> %s", (NR > 1 ? ", " : ""), $1, $2, $3 }')"
curl -s "http://127.0.0.1:$port/metrics" > "$work/metrics.txt"
kill -TERM "$engine"; wait "$engine" || true
/usr/bin/python3 - "$work/alerts.jsonl" "$work/metrics.txt" "$rate" <<'PY'
import json, re, sys
from datetime import datetime
def t(s): return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
delays = {}
for line in open(sys.argv[1]):
    if line.strip():
        a = json.loads(line)
        kind = "detection" if a["type"] == "detection" else "correlation"
        delays.setdefault(kind, []).append(t(a["emitted_at"]) - t(a["last_seen"]))
buckets, counts = {}, {}
for line in open(sys.argv[2]):
    m = re.match(r'sentrail_alert_latency_seconds_bucket\{kind="([^"]+)",le="([^"]+)"\} (\S+)', line)
    if m:
        buckets.setdefault(m.group(1), []).append((float("inf") if m.group(2) == "+Inf" else float(m.group(2)), float(m.group(3))))
    m = re.match(r'sentrail_alert_latency_seconds_count\{kind="([^"]+)"\} (\S+)', line)
    if m:
        counts[m.group(1)] = float(m.group(2))
def bound(kind, p):
    for le, c in sorted(buckets[kind]):
        if c >= p * counts[kind]:
            return le
for kind, v in sorted(delays.items()):
    v.sort()
    pick = lambda p: v[min(len(v) - 1, int(p * len(v)))]
    line = (f"{kind} at {sys.argv[3]} events/s: {len(v)} alerts; emitted after their last event "
            f"p50 {pick(0.5) * 1000:.0f} ms, p90 {pick(0.9) * 1000:.0f} ms, p99 {pick(0.99) * 1000:.0f} ms")
    if counts.get(kind):
        line += f"; published p50 <= {bound(kind, 0.5)} s, p99 <= {bound(kind, 0.99)} s (bucket bounds)"
    print(line)
PY
