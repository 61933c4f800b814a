#!/usr/bin/env bash
# An attack burst against one correlation group, next to the same traffic spread
# over many groups, in one run: N failed web logins within 3 ms of each other
# (N × 3 ms of event time), all from one IP (one credential-stuffing window
# holding every event), and from N different IPs (a window per IP). The pack
# replays both; the ratio says how much a burst costs per event, for bursts of
# SIZES events (default 2500 5000 10000 20000).
set -euo pipefail
build=${BUILD:-build}
sizes=${SIZES:-2500 5000 10000 20000}
source "$(dirname "$0")/lib/bench.sh"
bench_setup bench-burst

# burst N IP_MODE > FILE: IP_MODE one (203.0.113.9 for all) or many (10.x.y.z each).
burst() {
  awk -v n="$1" -v mode="$2" 'BEGIN {
    for (i = 0; i < n; i++) {
      t = i * 3; s = int(t / 1000); ms = t % 1000
      ts = sprintf("2026-11-23T%02d:%02d:%02d.%03dZ", 4 + int(s / 3600), int((s % 3600) / 60), s % 60, ms)
      ip = mode == "one" ? "203.0.113.9" : sprintf("10.%d.%d.%d", int(i / 65536), int(i / 256) % 256, i % 256)
      printf "{\"ts\":\"%s\",\"client_ip\":\"%s\",\"method\":\"POST\",\"path\":\"/login\",\"status\":401,\"bytes\":1,", ts, ip
      printf "\"user_agent\":\"ua\",\"session_id\":\"s%d\",\"user\":\"user%d\",\"event\":\"login_failed\"}\n", i, i % 500
    }
  }'
}
rate() { sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p'; }
printf "%-8s %16s %16s %8s\n" "burst" "one IP (ev/s)" "many IPs (ev/s)" "ratio"
for n in $sizes; do
  burst "$n" one > "$work/one.jsonl"
  burst "$n" many > "$work/many.jsonl"
  one=$("$build/sentrail" replay --rules rules/pack --channel web --output none "$work/one.jsonl" 2>&1 >/dev/null | rate)
  many=$("$build/sentrail" replay --rules rules/pack --channel web --output none "$work/many.jsonl" 2>&1 >/dev/null | rate)
  awk -v n="$n" -v o="$one" -v m="$many" 'BEGIN { printf "%-8d %16d %16d %8.1f\n", n, o, m, m / o }'
done
