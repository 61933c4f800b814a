"""Starts the real sentrail binary (broker, engine) for integration tests."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SENTRAIL = os.environ.get("SENTRAIL_BIN", "build/sentrail")
SOURCE = os.environ.get("SENTRAIL_SOURCE_DIR", ".")

try:
    from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: F401
except ImportError as e:  # pragma: no cover
    print(f"SKIP: python3-confluent-kafka is not installed ({e}); run scripts/install-deps.sh --with-test-tools")
    sys.exit(77)


class Broker:
    """`sentrail broker` in the background; .bootstrap is HOST:PORT."""

    def __init__(self, partitions=2):
        self.proc = subprocess.Popen([SENTRAIL, "broker", "--partitions", str(partitions)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline().strip()
        if not first.startswith("bootstrap="):
            raise RuntimeError(f"broker printed {first!r}: {self.proc.stderr.read()}")
        self.bootstrap = first.split("=", 1)[1]
        self.paused = False

    def pause(self):
        """SIGSTOP: the broker stops answering; its connections stay open."""
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        """SIGCONT if paused, so it is safe in any `finally` (before stopping an engine
        that must leave its group)."""
        if self.paused:
            self.proc.send_signal(signal.SIGCONT)
            self.paused = False

    def stop(self):
        self.resume()  # a stopped process takes no SIGTERM
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop()


class Engine:
    """`sentrail run` in the background with its output captured to files."""

    def __init__(self, bootstrap, state_dir, rules=None, extra=(), metrics_port=0):
        self.dir = tempfile.mkdtemp(prefix="sentrail-engine-")
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        env = dict(os.environ, SENTRAIL_HMAC_KEY="integration-test-key-0123456789")
        self._out = open(self.stdout_path, "w")
        self._err = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [SENTRAIL, "run", "--brokers", bootstrap, "--rules", rules or os.path.join(SOURCE, "rules/pack"),
             "--state", state_dir, "--metrics-port", str(metrics_port), "--group", "itest",
             *extra],
            stdout=self._out, stderr=self._err, env=env)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self._out.close()
        self._err.close()
        return self.proc.returncode

    def stdout(self):
        with open(self.stdout_path) as f:
            return f.read()

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def produce(bootstrap, records):
    """records: (topic, bytes-or-dict) pairs, produced in order and flushed."""
    p = Producer({"bootstrap.servers": bootstrap})
    for topic, value in records:
        if isinstance(value, dict):
            value = json.dumps(value).encode()
        p.produce(topic, value)
    assert p.flush(10) == 0, "producer could not deliver everything"


def trimmed_partitions(bootstrap, topics):
    """Partitions of `topics` whose oldest records the broker no longer holds.
    The embedded broker keeps only about 5 MiB per partition and silently drops
    older records (../shared/ENVIRONMENT.md), so a test that writes a backlog
    checks this before it blames the engine for input it never had."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"watermarks-{time.time()}"})
    try:
        trimmed = []
        for topic in topics:
            for p in c.list_topics(topic, timeout=10).topics[topic].partitions:
                low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if low > 0:
                    trimmed.append(f"{topic}/{p}: records before offset {low} of {high} dropped")
        return trimmed
    finally:
        c.close()


def consume_all(bootstrap, topic, expect_at_least=0, timeout=30.0, idle=2.0):
    """Every message of `topic` from the beginning (no group, manual assignment)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{time.time()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    meta = c.list_topics(topic, timeout=10)
    parts = [TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions]
    c.assign(parts)
    out = []
    deadline = time.time() + timeout
    last = time.time()
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            if len(out) >= expect_at_least and time.time() - last > idle:
                break
            continue
        if m.error():
            continue
        out.append(m)
        last = time.time()
    c.close()
    return out


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# Events for the triage API and console tests: each raises one alert with the
# rule pack, plus an insider-risk correlation for employee E100 from a refused
# stock-room badge swipe (badge channel) and two refunds to hand-keyed cards (pos
# channel): 25 + 40 + 40 >= 100. E100's alerts share an entity: one incident.
TRIAGE_TS = "2026-11-23T03:00:00.000Z"
PAN_VISA = "4111111111111111"
TRIAGE_EVENTS = [
    ("retail.web", {"ts": TRIAGE_TS, "client_ip": "198.51.100.9", "method": "GET", "path": "/.env", "status": 404,
                    "bytes": 0, "user_agent": "scanner", "session_id": "s2", "user": "", "event": "page_view"}),
    ("retail.mobile", {"ts": TRIAGE_TS, "device_id": "dev-1", "app_version": "5.0", "os": "android", "customer_id": "cust-7",
                       "ip": "185.220.101.5", "geo": {"lat": 52.5, "lon": 13.4, "country": "DE"}, "event": "login"}),
    ("retail.pos", {"ts": TRIAGE_TS, "store_id": "S01", "register_id": "R3", "employee_id": "E100", "txn_id": "T9",
                    "event": "sale", "amount": 900.0, "currency": "USD", "card_pan": PAN_VISA, "card_entry": "manual"}),
    ("retail.supplier", {"ts": TRIAGE_TS, "supplier_id": "SUP-3", "user": "ap@sup3", "ip": "192.0.2.8",
                         "event": "bank_details_change"}),
    ("retail.supplier", {"ts": TRIAGE_TS, "supplier_id": "SUP-4", "user": "ops@sup4", "ip": "192.0.2.9",
                         "event": "bulk_export", "records": 20000}),
    ("retail.badge", {"ts": TRIAGE_TS, "badge_id": "BDG-1", "employee_id": "E100", "site_id": "S01",
                      "door_id": "S01-stockroom", "event": "door_forced", "direction": "in"}),
    ("retail.badge", {"ts": "2026-11-23T01:40:00.000Z", "badge_id": "BDG-1", "employee_id": "E100", "site_id": "S01",
                      "door_id": "S01-stockroom", "event": "access_denied", "direction": "in"}),
    ("retail.pos", {"ts": "2026-11-23T02:10:00.000Z", "store_id": "S01", "register_id": "R3", "employee_id": "E100",
                    "txn_id": "T20", "event": "refund", "amount": 90.0, "currency": "USD", "card_pan": PAN_VISA,
                    "card_entry": "manual"}),
    ("retail.pos", {"ts": "2026-11-23T02:40:00.000Z", "store_id": "S01", "register_id": "R3", "employee_id": "E100",
                    "txn_id": "T21", "event": "refund", "amount": 90.0, "currency": "USD", "card_pan": PAN_VISA,
                    "card_entry": "manual"}),
]


def wait_for_alerts(bootstrap, predicate, timeout, what):
    """Every alert on sentrail.alerts, once one of them satisfies `predicate`."""
    alerts = []

    def arrived():
        nonlocal alerts
        alerts = [json.loads(m.value()) for m in consume_all(bootstrap, "sentrail.alerts", timeout=4, idle=1)]
        return any(predicate(a) for a in alerts)

    wait_for(arrived, timeout=timeout, what=what)
    return alerts

