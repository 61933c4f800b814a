#!/usr/bin/env bash
# make demo: the embedded broker, the engine and the traffic generator on their
# defaults. Alerts scroll by as readable lines; a status line counts events,
# alerts and dead letters. Ctrl-C (or DURATION=seconds) stops everything cleanly.
set -euo pipefail

sentrail=${1:-build/sentrail}
duration=${DURATION:-0}
rate=${RATE:-2000}
work=$(mktemp -d "${TMPDIR:-/tmp}/sentrail-demo.XXXXXX")
pids=()

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping (generator, engine, broker)..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "demo: alerts are in $work/alerts.txt; state in $work/state"
}
trap stop_all INT TERM EXIT

"$sentrail" broker --partitions 4 >"$work/broker.out" 2>"$work/broker.err" &
pids=($!)
for _ in $(seq 50); do
  [[ -s "$work/broker.out" ]] && break
  sleep 0.1
done
bootstrap=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
[[ -n "$bootstrap" ]] || { echo "demo: the broker did not start: $(cat "$work/broker.err")" >&2; exit 1; }

# The triage console: one admin token for this demo, its hash in a tokens file.
api_port=${API_PORT:-8080}
"$sentrail" token new --name demo --role admin >"$work/token.txt" 2>/dev/null
token=$(sed -n 's/^token: //p' "$work/token.txt")
{ echo "tokens:"; sed -n '2p' "$work/token.txt"; } >"$work/tokens.yml"

cat <<MSG
Sentrail demo
  broker    $bootstrap (embedded, loopback)
  rules     rules/pack
  traffic   web, mobile, pos, supplier and badge events at ~$rate/s with injected attacks
  metrics   http://127.0.0.1:${METRICS_PORT:-9464}/metrics
  console   http://127.0.0.1:$api_port/  (sign in with the token $token)
Alerts appear below as: event time, level, rule, entity [title]. Ctrl-C stops.

MSG

"$sentrail" run --brokers "$bootstrap" --rules rules/pack --state "$work/state" \
  --metrics-port "${METRICS_PORT:-9464}" --api-port "$api_port" --api-tokens "$work/tokens.yml" \
  --output text --colour --status-interval 3 \
  > >(tee "$work/alerts.txt") 2> >(grep --line-buffered -v '^%' >&2) &
pids=($! "${pids[@]}")

"$sentrail" gen --brokers "$bootstrap" --rate "$rate" --count 1000000000 --attack-rate 20 \
  --bad-rate 0.001 --truth "$work/truth.jsonl" 2>"$work/gen.err" &
pids=($! "${pids[@]}")

if [[ "$duration" -gt 0 ]]; then
  sleep "$duration"
else
  wait "${pids[0]}" || true
fi
