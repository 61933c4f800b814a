# Sourced by the benchmark scripts, which keep their children's pids in `pids`
# and a scratch directory in `work`.

# bench_setup NAME: a scratch directory `work` (removed on exit), an empty `pids`
# whose processes are stopped on exit, and the HMAC key the engine needs.
bench_setup() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/sentrail-$1.XXXXXX")
  pids=()
  trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
  export SENTRAIL_HMAC_KEY=bench-key-0123456789abcdef
}

# start_broker BIN PARTITIONS: runs the embedded broker in the background and
# sets `bootstrap` to its address once it prints it (and `broker_pid`).
start_broker() {
  "$1" broker --partitions "$2" > "$work/broker.out" 2>/dev/null &
  broker_pid=$!
  pids+=($broker_pid)
  for _ in $(seq 50); do [[ -s "$work/broker.out" ]] && break; sleep 0.1; done
  bootstrap=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
}

# start_mid_drain BUILD COUNT GROUP: COUNT generated events (seed 7) produced to
# the broker at `bootstrap`, then `sentrail run` drains them (CONFIG and RULES
# from the environment, as the measuring scripts take them); returns once past
# its first batches, with `engine` its pid and its status lines in $work/run.err.
start_mid_drain() {
  "$1/sentrail" gen --seed 7 --count "$2" --brokers "$bootstrap" > /dev/null 2>&1
  "$1/sentrail" run ${CONFIG:+--config "$CONFIG"} --brokers "$bootstrap" --rules "${RULES:-rules/pack}" \
    --state "$work/state" --group "$3" --metrics-port 0 --output none --status-interval 0.2 > /dev/null 2> "$work/run.err" &
  engine=$!
  pids+=("$engine")
  for _ in $(seq 600); do sleep 0.1; grep -q '^sentrail: events [1-9]' "$work/run.err" && break; done
  sleep 0.5  # past the first batches
}

# drain_rate BIN BOOTSTRAP RULES STATE GROUP COUNT LOG [CONFIG]
# runs `BIN run` with its own group and state until its status lines report COUNT
# events, then prints the rate in events/s: from the first status line with
# events to the first with all of them, by the wall clock, read every 50 ms. (A
# status line comes at the end of a batch, so counting lines × interval would
# overstate the rate whenever batches take longer than the interval.) The
# engine's CPU seconds up to then go to LOG.cpu, its peak RSS (MiB) to LOG.rss, and its /metrics to LOG.metrics
# (what the loop waited for: the store's writes, evidence read back from Kafka).
drain_rate() {
  local bin=$1 bootstrap=$2 rules=$3 state=$4 group=$5 count=$6 log=$7 config=${8:-} engine n
  local first="" first_n=0 last="" port=$((20000 + RANDOM % 20000))
  "$bin" run ${config:+--config "$config"} --brokers "$bootstrap" --rules "$rules" --state "$state" --group "$group" \
    --metrics-port "$port" --output none --status-interval 0.05 > /dev/null 2> "$log" &
  engine=$!
  for _ in $(seq 12000); do
    sleep 0.05
    n=$(grep -o '^sentrail: events [0-9]*' "$log" | tail -1 | cut -d' ' -f3 || true)
    [[ -z "$n" || "$n" -eq 0 ]] && continue
    [[ -z "$first" ]] && first=$(date +%s.%N) && first_n=$n
    if [[ "$n" -ge "$count" ]]; then last=$(date +%s.%N); break; fi
  done
  # The engine's CPU so far (every thread, exited ones included), in seconds, to LOG.cpu:
  # a measure the machine's drifting speed and the scheduler disturb less than the rate.
  local ticks
  ticks=$(cpu_ticks "$engine") && awk -v n="$ticks" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", n / t }' > "$log.cpu"
  # Its peak resident memory so far, in MiB, to LOG.rss.
  awk '/^VmHWM:/ { printf "%d\n", $2 / 1024 }' /proc/"$engine"/status > "$log.rss" 2>/dev/null || true
  curl -s "http://127.0.0.1:$port/metrics" > "$log.metrics" 2>/dev/null || true
  kill -TERM "$engine"; wait "$engine" || true
  awk -v a="$first" -v z="$last" -v n="$count" -v f="$first_n" \
    'BEGIN { printf "%.0f", (z > a ? (n - f) / (z - a) : 0) }'
}

# start_alert_latency BOOTSTRAP SECONDS OUT: reads the alerts topic from its end
# for SECONDS (scripts/lib/alert_latency.py) and writes exact event-to-alert
# percentiles to OUT; returns once it reads from the partitions' ends. Sets `latency_pid` (empty,
# with the reason in OUT, when python3-confluent-kafka is missing).
start_alert_latency() {
  latency_pid=""
  if ! /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
    echo "alert arrival not measured: python3-confluent-kafka is missing (scripts/install-deps.sh --with-test-tools)" > "$3"
    return 0
  fi
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/alert_latency.py" "$1" sentrail.alerts "$2" > "$3" 2>&1 &
  latency_pid=$!
  pids+=($latency_pid)
  for _ in $(seq 300); do grep -qs '^ready$' "$3" && return 0; sleep 0.1; done
  echo "alert_latency.py was not ready within 30 s: $(cat "$3")" >&2
  return 1
}

# finish_alert_latency OUT: waits for the reader and prints its figures.
finish_alert_latency() {
  [[ -n "$latency_pid" ]] && { wait "$latency_pid" || true; }
  grep -v '^ready$' "$1" || true
}

# stat_ticks FILE: user + system CPU, in clock ticks (getconf CLK_TCK a second),
# from a /proc stat file (a process's or a thread's). Fails once it is gone.
stat_ticks() {
  local stat
  stat=$(cat "$1" 2>/dev/null) || return 1
  stat=${stat##*) }  # past the command name, which may hold spaces and parentheses
  awk '{ print $12 + $13 }' <<<"$stat"
}

# cpu_ticks PID: the CPU PID has used so far (every thread, exited ones
# included), in clock ticks. Fails once PID is gone.
cpu_ticks() { stat_ticks /proc/"$1"/stat; }

# cpu_percent PID SECONDS: the share of one core PID used (every thread) over the
# next SECONDS; "?" once it has gone.
cpu_percent() {
  local a b
  a=$(cpu_ticks "$1") || { echo "?"; return; }
  sleep "$2"
  b=$(cpu_ticks "$1") || { echo "?"; return; }
  awk -v a="$a" -v b="$b" -v t="$(getconf CLK_TCK)" -v s="$2" 'BEGIN { printf "%.0f%%", (b - a) / t / s * 100 }'
}

# cpu_of_processes OUT SECONDS NAME=PID...: each process's cpu_percent over the
# same SECONDS, as "NAME CPU" lines in OUT.
cpu_of_processes() {
  local out=$1 seconds=$2 p samplers=()
  shift 2
  for p in "$@"; do
    (echo "${p%%=*} $(cpu_percent "${p#*=}" "$seconds")" > "$out.${p%%=*}") &
    samplers+=($!)
  done
  wait "${samplers[@]}"
  for p in "$@"; do cat "$out.${p%%=*}"; done > "$out"
}
