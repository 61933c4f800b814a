#!/usr/bin/env bash
# A live credential-stuffing attack against one worker: RATE failed logins per
# second (default 200) for SECONDS (default 60) from one IP, whose window fills to
# the engine's 10,000-entry cap, against the same traffic from as many IPs, for
# each BIN (default build/sentrail). Prints the engine's CPU seconds and the bytes
# it wrote to disk (/proc/PID/io) while the traffic ran, and its state's size.
#   scripts/bench-attack.sh                       # build/sentrail, 200/s for 60 s
#   RATE=1000 SECONDS_LIVE=30 scripts/bench-attack.sh old/sentrail build/sentrail
set -euo pipefail
rate=${RATE:-200}
live=${SECONDS_LIVE:-60}
bins=("$@")
[[ ${#bins[@]} -eq 0 ]] && bins=(build/sentrail)
if ! /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
  echo "bench-attack.sh needs python3-confluent-kafka (scripts/install-deps.sh --with-test-tools)" >&2
  exit 2
fi
source "$(dirname "$0")/lib/bench.sh"
bench_setup attack
n=0
for b in "${bins[@]}"; do
  for mode in one many; do
    n=$((n + 1))
    start_broker "$b" 2
    "$b" run --brokers "$bootstrap" --rules rules/pack --state "$work/state$n" --group attack --metrics-port 0 \
      --output none > /dev/null 2> "$work/run$n.err" &
    engine=$!
    pids+=($engine)
    sleep 4
    io() { awk -v k="$1" '$1 == k ":" { print $2 }' /proc/"$engine"/io; }
    w0=$(io write_bytes) c0=$(cpu_ticks "$engine")
    sent=$(/usr/bin/python3 "$(dirname "$0")/lib/login_burst.py" "$bootstrap" "$mode" "$rate" "$live")
    sleep 3
    w1=$(io write_bytes) c1=$(cpu_ticks "$engine")
    kill -TERM "$engine"; wait "$engine" || true
    kill -TERM "${pids[-2]}"; wait "${pids[-2]}" 2>/dev/null || true
    awk -v b="$b" -v m="$mode" -v s="$sent" -v c="$((c1 - c0))" -v t="$(getconf CLK_TCK)" -v w="$((w1 - w0))" \
      -v st="$(du -sm "$work/state$n" | cut -f1)" \
      'BEGIN { printf "%s: %s IP%s, %d events: engine CPU %.1f s, disk writes %.0f MiB, state %d MiB\n",
               b, m == "one" ? "one" : "many", m == "one" ? "" : "s", s, c / t, w / 1048576, st }'
  done
done
