#!/usr/bin/env bash
# make dashboards: Prometheus on loopback, scraping the engine's /metrics on
# 127.0.0.1:${METRICS_PORT:-9464} (start `make demo` in another terminal) with
# dashboards/alerts.yml loaded, for a person to browse at http://127.0.0.1:9090.
# Ctrl-C stops it; the scraped data is thrown away.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
metrics_port=${METRICS_PORT:-9464}
prom_port=${PROMETHEUS_PORT:-9090}
prometheus=$(command -v prometheus || true)
if [[ -z "$prometheus" ]]; then
  echo "dashboards: prometheus is not installed; run scripts/install-deps.sh --with-test-tools" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/sentrail-prometheus.XXXXXX")
prom_pid=
cleanup() {
  trap - INT TERM EXIT
  [[ -n "$prom_pid" ]] && kill -TERM "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup INT TERM EXIT

# dashboards/prometheus.yml, pointed at this port and with the alert rules by absolute path.
sed -e "s|127.0.0.1:9464|127.0.0.1:${metrics_port}|" -e "s|^  - alerts.yml|  - ${root}/dashboards/alerts.yml|" \
  "$root/dashboards/prometheus.yml" > "$work/prometheus.yml"
promtool check config "$work/prometheus.yml" >/dev/null

if ! curl -fsS "http://127.0.0.1:${metrics_port}/metrics" >/dev/null 2>&1; then
  echo "dashboards: nothing answers on http://127.0.0.1:${metrics_port}/metrics yet;"
  echo "            start the engine (make demo, in another terminal); Prometheus will pick it up."
fi

cat <<MSG
Sentrail metrics in Prometheus
  engine metrics  http://127.0.0.1:${metrics_port}/metrics
  Prometheus      http://127.0.0.1:${prom_port}
    targets       http://127.0.0.1:${prom_port}/targets        (is the engine being scraped?)
    alert rules   http://127.0.0.1:${prom_port}/alerts         (dashboards/alerts.yml)
    try           http://127.0.0.1:${prom_port}/graph?g0.expr=sum%20by%20(channel)%20(rate(sentrail_events_consumed_total%5B1m%5D))&g0.tab=0
  Grafana         dashboards/*.json with dashboards/provisioning/ (docs/observability.md)
Ctrl-C stops Prometheus.

MSG
"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:${prom_port}" --log.level=warn &
prom_pid=$!
wait "$prom_pid" || true
prom_pid=
