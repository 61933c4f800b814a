"""Alert sinks through real parts: `sentrail broker`, `sentrail run` with four
sinks configured, a real Prometheus Alertmanager (Debian's
prometheus-alertmanager) on loopback, Python HTTP receivers (one that fails on
purpose at first, one that only comes up after a crash) and a closed port.

1. Alertmanager's GET /api/v2/alerts shows every alert with its labels and annotations.
2. A webhook answering 500 to its first posts receives every alert at least
   once, and the engine counted its retries.
3. A webhook whose port is closed all along ends with every delivery in
   delivery_failures after max_attempts (`sentrail sinks failed`), while
   Alertmanager and the file got everything and the alerts topic is complete.
4. The JSON-lines sink holds exactly the alerts its route takes (level >= high).
5. The engine is killed (SIGKILL) with a webhook's deliveries still queued; started
   again with that receiver up, the queued deliveries arrive.
Skips (exit 77) without /usr/bin/prometheus-alertmanager."""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
if not os.path.exists(ALERTMANAGER):
    print(f"SKIP: {ALERTMANAGER} is absent; install Debian's prometheus-alertmanager "
          "(scripts/install-deps.sh --with-test-tools)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(__file__))
import fixtures  # noqa: E402
import harness  # noqa: E402
from test_end_to_end import EXPECTED_ALERTS, GOOD, group_of  # noqa: E402

LEVELS = ["informational", "low", "medium", "high", "critical"]
FAIL_FIRST = 3


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


class Receiver:
    """A webhook receiver on loopback that answers 500 to its first `fail_first` posts."""

    def __init__(self, port=0, fail_first=0):
        self.posts = []  # (headers, parsed body) of every post, failed ones included
        self.fail_first = fail_first
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.posts.append((dict(self.headers), json.loads(body)))
                    failing = len(outer.posts) <= outer.fail_first
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered_ids(self):
        """Alert ids of the posts answered with 200."""
        with self.lock:
            return [body["id"] for _, body in self.posts[self.fail_first:]]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Alertmanager:
    def __init__(self, tmp):
        self.port = fixtures.free_port()
        config = os.path.join(tmp, "alertmanager.yml")
        with open(config, "w") as f:
            f.write("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
        self.log = open(os.path.join(tmp, "alertmanager.log"), "w")
        self.proc = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={config}", f"--storage.path={os.path.join(tmp, 'am-data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

        def ready():
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False
        harness.wait_for(ready, timeout=30, what="alertmanager ready")

    def alerts(self):
        return get_json(self.url + "/api/v2/alerts")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


class Engine(harness.Engine):
    """harness.Engine with /metrics on `metrics_port` (the harness turns metrics off)."""

    def __init__(self, bootstrap, state_dir, config, metrics_port):
        self.dir = tempfile.mkdtemp(prefix="sentrail-engine-")
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self._out = open(self.stdout_path, "w")
        self._err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [harness.SENTRAIL, "run", "--brokers", bootstrap, "--rules", os.path.join(harness.SOURCE, "rules/pack"),
             "--state", state_dir, "--group", "itest", "--config", config, "--output", "none",
             "--metrics-port", str(metrics_port)],
            stdout=self._out, stderr=self._err,
            env=dict(os.environ, SENTRAIL_HMAC_KEY="integration-test-key-0123456789"))


def metric(text, name, labels):
    """The value of one sample from Prometheus text, or None."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


class SinksTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sentrail-sinks-")
        self.state = os.path.join(self.tmp, "state")
        self.jsonl = os.path.join(self.tmp, "alerts.jsonl")
        self.am = Alertmanager(self.tmp)
        self.flaky = Receiver(fail_first=FAIL_FIRST)
        self.dead_port = fixtures.free_port()    # nothing ever listens here
        self.later_port = fixtures.free_port()   # a receiver comes up only after the crash
        self.metrics_port = fixtures.free_port()
        self.config = os.path.join(self.tmp, "sentrail.yaml")
        with open(self.config, "w") as f:
            f.write(f"""kafka:
  properties:
    session.timeout.ms: '6000'
sinks:
  - name: am
    type: alertmanager
    url: {self.am.url}
    console_url: http://console.example
  - name: flaky
    type: webhook
    url: http://127.0.0.1:{self.flaky.port}/hook?x=1
    headers:
      X-Sentrail-Test: sinks
    initial_backoff: 50ms
    max_backoff: 200ms
    max_attempts: 20
  - name: dead
    type: webhook
    url: http://127.0.0.1:{self.dead_port}/
    timeout: 2s
    initial_backoff: 10ms
    max_backoff: 50ms
    max_attempts: 3
  - name: later
    type: webhook
    url: http://127.0.0.1:{self.later_port}/
    initial_backoff: 100ms
    max_backoff: 300ms
    max_attempts: 100000
  - name: file
    type: jsonl
    path: {self.jsonl}
    match:
      min_level: high
""")
        self.cleanups = [self.am.stop, self.flaky.stop, lambda: shutil.rmtree(self.tmp, ignore_errors=True)]

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()

    def scrape(self):
        return fixtures.metrics(self.metrics_port)

    def failed(self, *extra):
        out = subprocess.run([harness.SENTRAIL, "sinks", "failed", "--state", self.state, *extra],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return [json.loads(line) for line in out.stdout.splitlines()], out.stderr

    def jsonl_ids(self):
        if not os.path.exists(self.jsonl):
            return []
        with open(self.jsonl) as f:
            return [json.loads(line)["id"] for line in f if line.strip()]

    def test_every_sink_gets_its_alerts_and_a_down_one_holds_up_nothing_else(self):
        with harness.Broker(partitions=2) as broker:
            harness.produce(broker.bootstrap, GOOD)
            engine = Engine(broker.bootstrap, self.state, self.config, self.metrics_port)
            self.cleanups.append(engine.cleanup)
            try:
                # The alerts topic is complete although two webhooks are down.
                topic = harness.consume_all(broker.bootstrap, "sentrail.alerts",
                                            expect_at_least=len(EXPECTED_ALERTS), timeout=60)
                alerts = {a["id"]: a for a in (json.loads(m.value()) for m in topic)}
                self.assertEqual({group_of(a) for a in alerts.values()}, EXPECTED_ALERTS)
                ids = set(alerts)

                # (1) Alertmanager has each alert with its labels and annotations.
                def am_alerts():
                    return {a["labels"].get("sentrail_alert_id"): a for a in self.am.alerts()}
                harness.wait_for(lambda: all(am_alerts().get(i, {}).get("status", {}).get("state") == "active"
                                             for i in ids), timeout=30, what="active alerts in Alertmanager")
                got = am_alerts()
                for alert_id, a in alerts.items():
                    am = got[alert_id]
                    (field, value), = a["group"].items()
                    self.assertEqual(am["labels"], {
                        "alertname": a["rule"]["id"], "severity": a["rule"]["level"], "rule": a["rule"]["id"],
                        "channel": a["events"][0]["channel"], "entity": f"{field}={value}",
                        "sentrail_alert_id": alert_id})
                    self.assertEqual(am["annotations"]["summary"], f"{a['rule']['title']}: {field}={value}")
                    if "loss_exposure" in a:
                        e = a["loss_exposure"]
                        self.assertRegex(am["annotations"]["loss_exposure"], rf"^[0-9.e+]+-[0-9.e+]+ {e['currency']}$")
                    else:
                        self.assertNotIn("loss_exposure", am["annotations"])
                    self.assertEqual(am["generatorURL"], f"http://console.example/#/alerts/{alert_id}")
                    self.assertEqual(am["startsAt"][:19], a["first_seen"][:19])

                # (2) The failing-then-healthy webhook got every alert, after retries.
                harness.wait_for(lambda: ids <= set(self.flaky.delivered_ids()), timeout=30,
                                 what="every alert at the flaky webhook")
                self.assertGreater(len(self.flaky.posts), FAIL_FIRST)
                for headers, body in self.flaky.posts:
                    self.assertEqual(headers["Content-Type"], "application/json")
                    self.assertEqual(headers["X-Sentrail-Test"], "sinks")
                    self.assertEqual(body, alerts[body["id"]])  # the docs/alerts.md document as published
                text = self.scrape()
                self.assertGreaterEqual(metric(text, "sentrail_sink_deliveries_total",
                                               {"sink": "flaky", "outcome": "retried"}), FAIL_FIRST)
                self.assertIn("sentrail sinks: flaky: POST", engine.stderr())

                # (3) The closed port: every delivery dead-lettered after max_attempts.
                def dead_letters():
                    return [d for d in self.failed("--sink", "dead")[0]]
                harness.wait_for(lambda: len(dead_letters()) == len(ids), timeout=60,
                                 what="the dead webhook's deliveries in delivery_failures")
                rows, summary = self.failed()
                self.assertEqual({r["sink"] for r in rows}, {"dead"}, "only the closed port's sink gave up")
                self.assertEqual({r["alert_id"] for r in rows}, ids)
                for r in rows:
                    self.assertEqual(r["attempts"], 3)
                    self.assertIn(f"127.0.0.1:{self.dead_port}", r["last_error"])
                self.assertIn(f"{len(ids)} dead-lettered deliveries", summary)
                harness.wait_for(lambda: metric(self.scrape(), "sentrail_sink_deliveries_total",
                                                {"sink": "dead", "outcome": "dead_lettered"}) == len(ids),
                                 timeout=10, what="the dead_lettered count")

                # (4) The file holds exactly the alerts of level high and above.
                wanted = {i for i, a in alerts.items() if LEVELS.index(a["rule"]["level"]) >= LEVELS.index("high")}
                self.assertTrue(wanted and wanted != ids, "the traffic must hold alerts on both sides of the route")
                harness.wait_for(lambda: set(self.jsonl_ids()) >= wanted, timeout=30, what="the jsonl file")
                self.assertEqual(set(self.jsonl_ids()), wanted)
                with open(self.jsonl) as f:
                    for line in f:
                        self.assertEqual(json.loads(line), alerts[json.loads(line)["id"]])

                # (5) 'later' still holds every delivery; the engine dies with them queued.
                self.assertEqual(metric(self.scrape(), "sentrail_sink_queue_depth", {"sink": "later"}), len(ids))
                self.assertIn(f"still queued: later={len(ids)}", self.failed()[1])
            except BaseException:
                print(engine.stderr()[-5000:], file=sys.stderr)
                raise
            finally:
                engine.proc.kill()
                engine.proc.wait(timeout=30)
                engine.stop()

            later = Receiver(port=self.later_port)
            self.cleanups.append(later.stop)
            engine2 = Engine(broker.bootstrap, self.state, self.config, 0)
            self.cleanups.append(engine2.cleanup)
            try:
                harness.wait_for(lambda: ids <= set(later.delivered_ids()), timeout=60,
                                 what="the queued deliveries after the restart")
                for headers, body in later.posts:
                    self.assertEqual(body, alerts[body["id"]])
                harness.wait_for(lambda: "later=" not in self.failed()[1], timeout=30,
                                 what="the later sink's queue to empty")
                # The dead letters stayed; nothing new was raised by the restart.
                self.assertEqual({r["alert_id"] for r in self.failed("--sink", "dead")[0]}, ids)
            except BaseException:
                print(engine2.stderr()[-5000:], file=sys.stderr)
                raise
            finally:
                self.assertEqual(engine2.stop(), 0, engine2.stderr())
            self.assertEqual(set(self.jsonl_ids()), wanted)


class SinkConfigTest(unittest.TestCase):
    """`sinks:` in the config file: mistakes are refused with file:line:column before
    anything starts, and the documented examples load."""

    def run_with(self, text):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "c.yaml")
            with open(path, "w") as f:
                f.write(text)
            # The store cannot open under /proc: a config that loads fails there instead.
            r = subprocess.run([harness.SENTRAIL, "run", "--config", path, "--brokers", "127.0.0.1:1",
                                "--rules", os.path.join(harness.SOURCE, "rules/pack"),
                                "--state", "/proc/sentrail-sinks-test", "--metrics-port", "0"],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, SENTRAIL_HMAC_KEY="integration-test-key-0123456789"))
            return r.returncode, r.stderr.replace(path, "FILE")

    def test_mistakes_are_refused_with_where_and_why(self):
        cases = [
            ("sinks:\n  - name: a\n    type: webhook\n    url: http://x/\n    retries: 3\n",
             "FILE:5:5: unknown key 'retries'"),
            ("sinks:\n  - name: a\n    type: smtp\n", "FILE:3:11: sink type must be webhook, alertmanager or jsonl"),
            ("sinks:\n  - name: a b\n    type: jsonl\n    path: x\n", "FILE:2:11: a sink needs a name"),
            ("sinks:\n  - name: a\n    type: jsonl\n    path: x\n    match:\n      min_level: severe\n",
             "FILE:6:18: unknown level 'severe'"),
            ("sinks:\n  - name: a\n    type: jsonl\n    path: x\n    match:\n      tag: [x]\n",
             "FILE:6:7: unknown key 'tag'"),
            ("sinks:\n  - name: a\n    type: jsonl\n    url: http://x/\n", "FILE:4:10: 'url' does not apply to a jsonl sink"),
            ("sinks:\n  - name: a\n    type: webhook\n    url: ftp://x/\n", "FILE:4:10: url must start with http://"),
            ("sinks:\n  - name: a\n    type: jsonl\n    path: x\n    initial_backoff: soon\n",
             "FILE:5:22: initial_backoff must be a timespan"),
            ("sinks:\n  - name: a\n    type: jsonl\n    path: x\n    max_attempts: 0\n",
             "FILE:5:19: max_attempts must be at least 1"),
            ("sinks:\n  - name: a\n    type: jsonl\n    path: x\n  - name: a\n    type: jsonl\n    path: y\n",
             "FILE:5:11: a second sink named a"),
            ("sinks:\n  - name: a\n    type: webhook\n", "FILE:2:5: a webhook sink needs a url"),
            # Not a sink, but refused the same way.
            ("correlation:\n  evidence: copies\n", "FILE:2:13: evidence must be stored or reference"),
            ("correlation:\n  evidence_memory_mb: 100000\n",
             "FILE:2:23: evidence_memory_mb must be at most 65536 (64 GiB)"),
            # A value of the wrong type: where, which key, and what was expected.
            ("correlation:\n  evidence_memory_mb: lots\n",
             "FILE:2:23: correlation.evidence_memory_mb: expected a whole number, 0 or more here"),
            ("store:\n  sync_writes: maybe\n", "FILE:2:16: store.sync_writes: expected true or false here"),
            ("kafka:\n  batch_max_ms: [50]\n", "FILE:2:17: kafka.batch_max_ms: expected a whole number here"),
            ("sinks:\n  - name: a\n    type: jsonl\n    path: x\n  - name: b\n    type: jsonl\n    path: y\n"
             "    max_attempts: twice\n", "FILE:8:19: sinks[1].max_attempts: expected a whole number here"),
            ("kafka:\n  alignment: sometimes\n",
             "FILE:2:14: kafka.alignment must be a timespan such as 1s or 500ms, or off"),
            ("store:\n  rocksdb:\n    column_families: \"level0_file_num_compaction_trigger=8;no_such=1\"\n",
             "FILE:3:22: store.rocksdb.column_families"),
            ("store:\n  rocksdb:\n    db: \"max_background_jobs=many\"\n",
             "FILE:3:9: store.rocksdb.db \"max_background_jobs=many\": Invalid argument"),
            ("store:\n  rocksdb:\n    wal: x\n", "FILE:3:5: unknown key 'wal'"),
        ]
        for text, expected in cases:
            with self.subTest(expected=expected):
                code, err = self.run_with(text)
                self.assertEqual(code, 2, err)
                self.assertIn(expected, err)

    def test_the_documented_examples_load(self):
        for doc in ["docs/configuration.md", "docs/sinks.md"]:
            with open(os.path.join(harness.SOURCE, doc)) as f:
                text = f.read()
            block = text[text.index("\nsinks:"):]
            block = block[:block.index("```")]
            with self.subTest(doc=doc):
                code, err = self.run_with(block)
                self.assertEqual(code, 2, err)
                self.assertIn("/proc/sentrail-sinks-test", err)  # got past the configuration


if __name__ == "__main__":
    unittest.main(verbosity=2)
