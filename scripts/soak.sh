#!/usr/bin/env bash
# Soak: steady live traffic through the embedded broker into `sentrail run` for
# MINUTES (default 10), sampling the state directory's size and the engine's
# resident memory every 30 s. With short windows and evidence retention (below),
# state expires by event time and the database stops growing.
set -euo pipefail
build=${BUILD:-build}
minutes=${MINUTES:-10}
rate=${RATE:-3000}
work=$(mktemp -d "${TMPDIR:-/tmp}/sentrail-soak.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
export SENTRAIL_HMAC_KEY=soak-key-0123456789abcdef
cat > "$work/sentrail.yaml" <<YAML
correlation:
  evidence_retention: 2m
  idle_timeout: 5s
store:
  cache_entries: 50000
  block_cache_mb: 32
  write_buffer_mb: 16
YAML
source "$(dirname "$0")/lib/bench.sh"
start_broker "$build/sentrail" 4
"$build/sentrail" run --brokers "$bootstrap" --rules "${RULES:-bench/soak-rules.yml}" --state "$work/state" --config "$work/sentrail.yaml" \
  --metrics-port 0 --output none --status-interval 30 > /dev/null 2> "$work/engine.err" &
engine=$!
pids+=($engine)
"$build/sentrail" gen --brokers "$bootstrap" --rate "$rate" --duration $((minutes * 60 + 30)) --attack-rate 5 \
  > /dev/null 2> "$work/gen.err" &
pids+=($!)
echo "minute  state_MiB  rss_MiB"
for ((i = 1; i <= minutes * 2; i++)); do
  sleep 30
  size=$(du -sm "$work/state" | cut -f1)
  rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$engine/status")
  printf "%6s  %9s  %7s\n" "$(awk -v i="$i" 'BEGIN {printf "%.1f", i / 2}')" "$size" "$rss"
done
grep 'sentrail:' "$work/engine.err" | tail -1
