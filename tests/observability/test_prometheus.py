"""The dashboards and alert rules against a real Prometheus scraping a real engine:
`sentrail broker`, `sentrail run --metrics-port`, `sentrail gen` at 2000 events/s
with attacks and bad input, and Prometheus scraping every second with
dashboards/alerts.yml loaded. After ~20 s of scraping, every PromQL expression of
every dashboard panel must evaluate without error and return data, and every
alerting rule must evaluate without error. Needs /usr/bin/prometheus (Debian's
`prometheus`, from scripts/install-deps.sh --with-test-tools); skips without it."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import dashboards  # noqa: E402

PROMETHEUS = "/usr/bin/prometheus"
SENTRAIL = os.environ.get("SENTRAIL_BIN", "build/sentrail")
SOURCE = dashboards.SOURCE
SCRAPE_SECONDS = 20

if not os.path.exists(PROMETHEUS):
    print(f"SKIP: {PROMETHEUS} is absent; install Debian's prometheus (scripts/install-deps.sh --with-test-tools)")
    sys.exit(77)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class ObservabilityStack(unittest.TestCase):
    """One engine, one generator and one Prometheus for all the checks (they take ~30 s to start)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sentrail-obs-")
        cls.procs = []
        cls.logs = []
        try:
            cls.start_stack()
        except BaseException:
            for name in ("engine", "prometheus", "gen"):
                path = os.path.join(cls.tmp, f"{name}.log")
                if os.path.exists(path):
                    with open(path) as f:
                        print(f"--- {name}.log (tail)\n" + "".join(f.readlines()[-15:]), file=sys.stderr)
            cls.tearDownClass()
            raise

    @classmethod
    def start_stack(cls):
        started = time.time()
        broker = cls.start("broker", [SENTRAIL, "broker", "--partitions", "4"], stdout=subprocess.PIPE)
        first = broker.stdout.readline().decode().strip()
        if not first.startswith("bootstrap="):
            raise RuntimeError(f"broker printed {first!r}")
        bootstrap = first.split("=", 1)[1]

        cls.metrics_port = free_port()
        env = dict(os.environ, SENTRAIL_HMAC_KEY="observability-test-key-0123456789")
        # A JSON-lines sink, so the sink panels have series (docs/sinks.md).
        engine_config = os.path.join(cls.tmp, "sentrail.yaml")
        with open(engine_config, "w") as f:
            f.write(f"sinks:\n  - name: archive\n    type: jsonl\n    path: {os.path.join(cls.tmp, 'alerts.jsonl')}\n")
        cls.engine = cls.start("engine", [
            SENTRAIL, "run", "--brokers", bootstrap, "--rules", os.path.join(SOURCE, "rules/pack"),
            "--state", os.path.join(cls.tmp, "state"), "--metrics-port", str(cls.metrics_port),
            "--group", "observability", "--output", "none", "--config", engine_config], env=env)
        cls.metrics_url = f"http://127.0.0.1:{cls.metrics_port}/metrics"
        wait_for(lambda: "sentrail_build_info" in http_get(cls.metrics_url), 20, "the engine's /metrics")

        cls.prom_port = free_port()
        config = os.path.join(cls.tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {os.path.join(dashboards.DASHBOARDS_DIR, "alerts.yml")}
scrape_configs:
  - job_name: sentrail
    static_configs:
      - targets: ["127.0.0.1:{cls.metrics_port}"]
""")
        cls.prom_url = f"http://127.0.0.1:{cls.prom_port}"
        cls.start("prometheus", [PROMETHEUS, f"--config.file={config}",
                                 f"--storage.tsdb.path={os.path.join(cls.tmp, 'tsdb')}",
                                 f"--web.listen-address=127.0.0.1:{cls.prom_port}"])
        cls.start("gen", [SENTRAIL, "gen", "--brokers", bootstrap, "--rate", "2000", "--duration", "25",
                          "--attack-rate", "20", "--bad-rate", "0.01"])
        wait_for(lambda: "Ready" in http_get(cls.prom_url + "/-/ready"), 30, "Prometheus ready")

        def scraped_enough():
            r = cls.query(f'count_over_time(up{{job="sentrail"}}[{SCRAPE_SECONDS + 10}s])')
            return r and float(r[0]["value"][1]) >= SCRAPE_SECONDS
        wait_for(scraped_enough, SCRAPE_SECONDS + 40, f"{SCRAPE_SECONDS} s of scrapes")
        # Every rule group evaluated at least once after the data arrived.
        time.sleep(2)
        cls.startup_seconds = time.time() - started

    @classmethod
    def start(cls, name, argv, stdout=None, env=None):
        log = open(os.path.join(cls.tmp, f"{name}.log"), "w")
        cls.logs.append(log)
        p = subprocess.Popen(argv, stdout=stdout or log, stderr=log, env=env)
        cls.procs.append(p)
        return p

    @classmethod
    def tearDownClass(cls):
        # Generator, Prometheus, engine, then the broker: each stops before what it talks to.
        for p in reversed(cls.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout:
                p.stdout.close()
        for log in cls.logs:
            log.close()
        if os.environ.get("SENTRAIL_KEEP_TMP"):
            print(f"kept {cls.tmp}")
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def api(cls, path, **params):
        url = f"{cls.prom_url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            body = http_get(url, timeout=10)
        except urllib.error.HTTPError as e:  # 400/422 carry the PromQL error
            body = e.read().decode()
        return json.loads(body)

    @classmethod
    def query(cls, expr):
        r = cls.api("query", query=expr)
        if r.get("status") != "success":
            raise AssertionError(f"{expr!r}: {r.get('errorType')}: {r.get('error')}")
        return r["data"]["result"]

    def test_prometheus_scrapes_the_engine(self):
        r = self.query('up{job="sentrail"}')
        self.assertEqual([float(x["value"][1]) for x in r], [1.0])
        print(f"stack up and scraped for {SCRAPE_SECONDS} s after {self.startup_seconds:.1f} s")

    def test_every_dashboard_query_evaluates_and_returns_data(self):
        checked = 0
        for path in dashboards.dashboard_files():
            for title, ref, expr in dashboards.panel_queries(dashboards.load(path)):
                promql = dashboards.grafana_to_promql(expr)
                with self.subTest(dashboard=os.path.basename(path), panel=title, ref=ref):
                    result = self.query(promql)
                    self.assertTrue(result, f"no data for {promql!r}")
                    checked += 1
        self.assertGreater(checked, 30)

    def test_every_alert_rule_loads_and_evaluates(self):
        with open(os.path.join(dashboards.DASHBOARDS_DIR, "alerts.yml")) as f:
            declared = re.findall(r"^\s*- alert:\s*(\S+)", f.read(), re.M)
        groups = self.api("rules", type="alert")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        self.assertEqual(sorted(r["name"] for r in rules), sorted(declared))
        for r in rules:
            with self.subTest(alert=r["name"]):
                self.assertEqual(r["health"], "ok", r.get("lastError"))
                self.query(r["query"])  # raises on a PromQL error

    def test_no_pipeline_alert_fires_on_a_healthy_run(self):
        firing = [a for a in self.api("alerts")["data"]["alerts"] if a["state"] == "firing"]
        self.assertEqual(firing, [])

    def test_every_exported_metric_is_documented(self):
        exported = set(re.findall(r"^# TYPE (sentrail_\w+) ", http_get(self.metrics_url), re.M))
        with open(os.path.join(SOURCE, "docs/observability.md")) as f:
            doc = f.read()
        self.assertTrue(exported)
        self.assertEqual(sorted(m for m in exported if f"`{m}`" not in doc), [])

    def test_the_issue_metrics_are_exported_with_data(self):
        for name in ["sentrail_events_consumed_total", "sentrail_deadletter_events_total",
                     "sentrail_late_events_total", "sentrail_rule_matches_total", "sentrail_alerts_total",
                     "sentrail_alert_latency_seconds_bucket", "sentrail_batch_duration_seconds_bucket",
                     "sentrail_consumer_lag_messages", "sentrail_watermark_lag_seconds",
                     "sentrail_state_bytes", "sentrail_state_cached_entries", "sentrail_reorder_buffer_events",
                     "sentrail_reorder_buffer_peak_events",
                     "sentrail_alerts_suppressed_total", "sentrail_publish_failures_total",
                     "sentrail_publish_retries_total", "sentrail_outbox_pending_records",
                     "sentrail_rule_reloads_total", "sentrail_build_info"]:
            with self.subTest(metric=name):
                self.assertTrue(self.query(name), f"{name} has no series")
        partitions = {x["metric"]["partition"] for x in self.query("sentrail_consumer_lag_messages")}
        self.assertEqual(partitions, {"0", "1", "2", "3"})
        self.assertGreater(float(self.query("sum(sentrail_state_bytes)")[0]["value"][1]), 0)
        self.assertGreater(float(self.query("sum(sentrail_alerts_total)")[0]["value"][1]), 0)
        # Correlated events waited in the buffer at some point, and never more
        # than the peak says.
        peak = float(self.query("max(sentrail_reorder_buffer_peak_events)")[0]["value"][1])
        self.assertGreater(peak, 0)
        self.assertGreaterEqual(peak, float(self.query("max_over_time(sentrail_reorder_buffer_events[5m])")[0]["value"][1]))

    def test_every_alerting_rule_has_its_own_match_count(self):
        alerting = {x["metric"]["rule"] for x in self.query("sum by (rule) (sentrail_alerts_total)")}
        matched = {x["metric"]["rule"]: float(x["value"][1])
                   for x in self.query("sum by (rule) (sentrail_rule_matches_total)")}
        self.assertTrue(alerting)
        for rule in alerting:
            with self.subTest(rule=rule):
                self.assertGreater(matched.get(rule, 0), 0, f"{rule} alerted but has no matches")


if __name__ == "__main__":
    unittest.main()
