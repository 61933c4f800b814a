"""The whole spine through real parts: raw events of every channel, good and bad,
produced by an independent Kafka client into `sentrail broker`; `sentrail run`
consumes them; the exact alerts and dead letters come out, no card number appears
anywhere, and a restart on the same state raises no alert twice."""
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import fixtures  # noqa: E402
import harness  # noqa: E402

PAN_VISA = "4111111111111111"
PAN_MC = "5555555555554444"
TS = "2026-11-23T03:00:00.000Z"

GOOD = [
    ("retail.web", {"ts": TS, "client_ip": "203.0.113.5", "method": "POST", "path": "/login", "status": 401,
                    "bytes": 10, "user_agent": "ua", "session_id": "s1", "user": "ann", "event": "login_failed"}),
    ("retail.web", {"ts": TS, "client_ip": "198.51.100.9", "method": "GET", "path": "/.env", "status": 404,
                    "bytes": 0, "user_agent": "scanner", "session_id": "s2", "user": "", "event": "page_view"}),
    ("retail.web", {"ts": TS, "client_ip": "203.0.113.6", "method": "POST", "path": "/pay", "status": 200,
                    "bytes": 5, "user_agent": "ua", "session_id": "s3", "user": "bob", "event": "payment_authorized",
                    "amount": 20.5, "currency": "EUR", "card_pan": PAN_MC}),
    ("retail.web", b'192.0.2.44 - - [23/Nov/2026:03:00:01 +0000] "GET /wp-login.php HTTP/1.1" 404 0 "-" "zgrab"'),
    ("retail.mobile", {"ts": TS, "device_id": "dev-1", "app_version": "5.0", "os": "android", "customer_id": "cust-7",
                       "ip": "185.220.101.5", "geo": {"lat": 52.5, "lon": 13.4, "country": "DE"}, "event": "login"}),
    ("retail.mobile", {"ts": TS, "device_id": "dev-2", "app_version": "5.0", "os": "ios", "customer_id": "cust-8",
                       "ip": "8.8.8.8", "geo": {"lat": 40.7, "lon": -74.0, "country": "US"}, "event": "login"}),
    ("retail.pos", {"ts": TS, "store_id": "S01", "register_id": "R3", "employee_id": "E100", "txn_id": "T9",
                    "event": "sale", "amount": 900.0, "currency": "USD", "card_pan": PAN_VISA, "card_entry": "manual"}),
    ("retail.pos", {"ts": TS, "store_id": "S01", "register_id": "R3", "employee_id": "E101", "txn_id": "T10",
                    "event": "sale", "amount": 900.0, "currency": "USD", "card_pan": PAN_VISA, "card_entry": "chip"}),
    ("retail.pos", {"ts": TS, "store_id": "S01", "register_id": "R3", "employee_id": "E102", "txn_id": "T11",
                    "event": "sale", "amount": 100.0, "currency": "USD", "card_pan": PAN_VISA, "card_entry": "manual"}),
    ("retail.supplier", {"ts": TS, "supplier_id": "SUP-3", "user": "ap@sup3", "ip": "192.0.2.8",
                         "event": "bank_details_change"}),
    ("retail.supplier", {"ts": TS, "supplier_id": "SUP-4", "user": "ops@sup4", "ip": "192.0.2.9",
                         "event": "bulk_export", "records": 20000}),
    ("retail.supplier", {"ts": TS, "supplier_id": "SUP-5", "user": "ops@sup5", "ip": "192.0.2.10",
                         "event": "bulk_export", "records": 500}),
    ("retail.badge", {"ts": TS, "badge_id": "BDG-1", "employee_id": "E100", "site_id": "S01",
                      "door_id": "S01-stockroom", "event": "door_forced", "direction": "in"}),
    ("retail.badge", {"ts": TS, "badge_id": "BDG-2", "employee_id": "E101", "site_id": "S01",
                      "door_id": "S01-front", "event": "access_granted", "direction": "in"}),
]

EXPECTED_ALERTS = {
    ("sentrail-web-sensitive-path-probe", "source.ip", "198.51.100.9"),
    ("sentrail-web-sensitive-path-probe", "source.ip", "192.0.2.44"),
    ("sentrail-mobile-login-from-tor-exit", "user.id", "cust-7"),
    ("sentrail-pos-manual-entry-high-value", "retail.employee.id", "E100"),
    ("sentrail-supplier-bank-details-change", "user.name", "ap@sup3"),
    ("sentrail-supplier-bulk-export-large", "user.name", "ops@sup4"),
    ("sentrail-badge-door-forced", "retail.employee.id", "E100"),
}

BAD = [
    ("retail.pos", b'{"ts": "2026-11-23T03:00:00Z", "event": "sale", "amount": ', "invalid_json"),
    ("retail.web", b'{"ts":"2026-11-23T03:00:00Z","event":"login","user":"\xff\xfe"}', "invalid_utf8"),
    ("retail.badge", b'{"badge_id":"B1","event":"access_granted"}', "missing_timestamp"),
    ("retail.supplier", b'{"ts":"last thursday","supplier_id":"S","event":"login"}', "bad_timestamp"),
    ("retail.pos", b'{"ts":"2026-11-23T03:00:00Z","event":"refund","amount":{"value":5}}', "wrong_type"),
    ("retail.mobile", ("card " + PAN_VISA + " was used").encode(), "invalid_json"),
    # Its time in ms since the epoch passes Luhn, like one time in ten: kept, not masked.
    ("retail.badge", b'{"ts":1795494915071,"pan":"4111 1111 1111 1111","event":', "invalid_json"),
    ("retail.supplier", b'{"ts":"2026-11-23T03:00:00Z","event":"login","pad":"' + b"x" * 5000 + b'"}', "oversized"),
]


def group_of(alert):
    (field, value), = alert["group"].items()
    return (alert["rule"]["id"], field, value)


class EndToEndTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sentrail-e2e-")
        self.state = os.path.join(self.tmp, "state")
        self.config = os.path.join(self.tmp, "sentrail.yaml")
        with open(self.config, "w") as f:
            f.write("ingest:\n  max_message_bytes: 4096\nkafka:\n  properties:\n"
                    "    session.timeout.ms: '6000'\n")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_evidence_by_reference_config(self, memory_mb=0):
        """The three-failures rule, and a config keeping evidence by reference: a
        long session, so that stopping the broker costs no rebalance, and 6 s of
        idleness before the alert, time to stop the broker first. With no memory
        for recent input (the default for these tests) every read goes to Kafka."""
        rules = fixtures.write_three_failures_rule(self.tmp)
        with open(self.config, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '45000'\n"
                    "correlation:\n  idle_timeout: 6s\n  evidence: reference\n"
                    f"  evidence_memory_mb: {memory_mb}\n")
        return rules

    def test_buffered_events_kept_by_reference_survive_a_restart_and_show_in_state_inspect(self):
        """By reference, the reorder buffer is durable as one record per batch
        (event keys and rules). Two failures wait for a watermark that does not
        move (an hour of lateness and of idleness); after a restart the engine
        reads them back from the topic, a third failure completes the count, and
        the alert cites all three. `state inspect` counts what waits from the records."""
        rules = fixtures.write_three_failures_rule(self.tmp)
        waiting_config = os.path.join(self.tmp, "waiting.yaml")
        with open(waiting_config, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '6000'\n"
                    "correlation:\n  evidence: reference\n  allowed_lateness: 1h\n  idle_timeout: 1h\n")
        with open(self.config, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '6000'\n"
                    "correlation:\n  evidence: reference\n  idle_timeout: 1s\n")
        ip = "203.0.113.91"
        first_two, third = fixtures.three_failed_logins(ip)[:2], fixtures.three_failed_logins(ip)[2:]

        def waiting():
            out = harness.subprocess.run([harness.SENTRAIL, "state", "inspect", "--state", self.state],
                                         capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            return int(re.search(r"(\d+) events waiting for the watermark", out.stderr).group(1))

        with harness.Broker(partitions=1) as broker:
            harness.produce(broker.bootstrap, first_two)
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules,
                                    extra=["--config", waiting_config, "--status-interval", "0.5"])
            try:
                harness.wait_for(lambda: re.search(r"events 2 ", engine.stderr()), timeout=60,
                                 what="the engine to read the first two failures")
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
            self.assertEqual(engine.stdout(), "")
            self.assertEqual(waiting(), 2)
            engine.cleanup()

            engine = harness.Engine(broker.bootstrap, self.state, rules=rules, extra=["--config", self.config])
            try:
                harness.wait_for(lambda: "read 2 buffered events back" in engine.stderr(), timeout=60,
                                 what="the restart to read the buffer back from the topic")
                harness.produce(broker.bootstrap, third)
                alerts = harness.wait_for_alerts(broker.bootstrap, lambda a: a["group"].get("source.ip") == ip,
                                                 timeout=60, what="the alert after the restart")
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
            engine.cleanup()
        [alert] = [a for a in alerts if a["group"].get("source.ip") == ip]
        self.assertEqual(sorted(e["offset"] for e in alert["events"]), [0, 1, 2])
        self.assertNotIn("evidence_unavailable", alert)
        self.assertEqual(waiting(), 0)

    def test_evidence_by_reference_is_read_from_memory_while_the_broker_is_away(self):
        """The events an alert cites are the engine's latest input, kept in memory
        (correlation.evidence_memory_mb): with the broker stopped before the alert
        is raised, the alert still comes out whole, its evidence read from memory,
        as /metrics counts. The same run with no such memory waits for the broker
        (test_evidence_by_reference_waits_for_a_broker_that_stops_answering). A
        first alert goes out while the broker answers, so the engine has heard
        where every partition ends before the broker stops."""
        rules = self.write_evidence_by_reference_config(memory_mb=1)
        port = fixtures.free_port()
        with harness.Broker(partitions=1) as broker:
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules, metrics_port=port,
                                    extra=["--config", self.config, "--status-interval", "0.5"])
            try:
                harness.produce(broker.bootstrap, fixtures.three_failed_logins("203.0.113.81", "2026-11-23T07:00"))
                harness.wait_for_alerts(broker.bootstrap, lambda a: a["group"].get("source.ip") == "203.0.113.81",
                                        timeout=60, what="the first alert")
                harness.produce(broker.bootstrap, fixtures.three_failed_logins("203.0.113.82", "2026-11-23T07:01"))
                harness.wait_for(lambda: re.search(r"events 6 ", engine.stderr()), timeout=60,
                                 what="the engine to read the next three events")
                # The alert is raised once the input has been idle for 6 s: stop the broker before.
                broker.pause()
                harness.wait_for(lambda: "203.0.113.82" in engine.stdout(), timeout=60,
                                 what="the alert while the broker does not answer")
                metrics = fixtures.metrics(port)
            finally:
                broker.resume()
                self.assertEqual(engine.stop(), 0, engine.stderr())
            alerts = [json.loads(line) for line in engine.stdout().splitlines() if "t-three-failures" in line]
            self.assertEqual(len(alerts), 2, engine.stdout())
            for alert, ip in zip(sorted(alerts, key=lambda a: a["group"]["source.ip"]), ["203.0.113.81", "203.0.113.82"]):
                self.assertNotIn("evidence_unavailable", alert)
                self.assertEqual(len(alert["events"]), 3, alert)
                self.assertEqual({e["fields"]["source.ip"] for e in alert["events"]}, {ip})
            self.assertIn('sentrail_evidence_reads_total{source="memory"} 6', metrics)
            self.assertIn('sentrail_evidence_reads_total{source="kafka"} 0', metrics)
            self.assertNotIn("waiting for the broker to read back", engine.stderr())
            engine.cleanup()

    def test_every_channel_good_and_bad_gives_exact_alerts_and_dead_letters(self):
        with harness.Broker(partitions=2) as broker:
            harness.produce(broker.bootstrap, [(t, v) for t, v in GOOD] + [(t, v) for t, v, _ in BAD])
            engine = harness.Engine(broker.bootstrap, self.state, extra=["--config", self.config])
            try:
                alerts = harness.consume_all(broker.bootstrap, "sentrail.alerts",
                                             expect_at_least=len(EXPECTED_ALERTS), timeout=60)
                dead = harness.consume_all(broker.bootstrap, "sentrail.deadletter",
                                           expect_at_least=len(BAD), timeout=30)
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())

            alert_docs = [json.loads(m.value()) for m in alerts]
            self.assertEqual({group_of(a) for a in alert_docs}, EXPECTED_ALERTS)
            self.assertEqual(len(alert_docs), len(EXPECTED_ALERTS), "one alert per matching event")
            for m, a in zip(alerts, alert_docs):
                self.assertEqual(m.key().decode(), a["id"])
                self.assertRegex(a["id"], r"^[0-9a-f]{32}$")
                self.assertEqual(a["status"], "new")
                self.assertEqual(len(a["events"]), 1)
                ev = a["events"][0]
                self.assertTrue(ev["topic"].startswith("retail."))
                self.assertGreaterEqual(ev["offset"], 0)
            pos_alert = next(a for a in alert_docs if a["rule"]["id"] == "sentrail-pos-manual-entry-high-value")
            fields = pos_alert["events"][0]["fields"]
            self.assertEqual(fields["retail.card.last4"], "1111")
            self.assertTrue(fields["retail.card.token"].startswith("tok_"))
            self.assertEqual(pos_alert["rule"]["level"], "medium")

            # stdout carries the same alerts as JSON lines, once each.
            stdout_ids = sorted(json.loads(line)["id"] for line in engine.stdout().splitlines() if line.strip())
            self.assertEqual(stdout_ids, sorted(a["id"] for a in alert_docs))

            dead_docs = [json.loads(m.value()) for m in dead]
            self.assertEqual(sorted(d["reason"] for d in dead_docs), sorted(r for _, _, r in BAD))
            for d in dead_docs:
                self.assertTrue(d["topic"].startswith("retail."))
                self.assertIn("partition", d)
                self.assertIn("offset", d)
                self.assertTrue(d["detail"])
            utf8 = next(d for d in dead_docs if d["reason"] == "invalid_utf8")
            self.assertIn("payload_base64", utf8)  # original bytes kept, losslessly
            masked = next(d for d in dead_docs if d["reason"] == "invalid_json" and "card" in d.get("payload", ""))
            self.assertEqual(masked["payload"], "card ************1111 was used")
            self.assertEqual(masked["masked_pans"], 1)
            timed = next(d for d in dead_docs if d["topic"] == "retail.badge" and d["reason"] == "invalid_json")
            self.assertEqual(timed["payload"], '{"ts":1795494915071,"pan":"**** **** **** 1111","event":')
            self.assertEqual(timed["masked_pans"], 1)

            # No card number anywhere: topics, stdout, stderr, the state store's files.
            blobs = [m.value() for m in alerts + dead] + [engine.stdout().encode(), engine.stderr().encode()]
            for root, _, files in os.walk(self.state):
                for name in files:
                    with open(os.path.join(root, name), "rb") as f:
                        blobs.append(f.read())
            pan_pattern = re.compile(rb"(4111|5555)[ -]?(1111|5555)[ -]?(1111|5555)[ -]?(1111|4444)")
            for blob in blobs:
                self.assertIsNone(pan_pattern.search(blob), "a card number leaked")

            # A restart on the same state resumes after what it processed: new
            # input raises only its own alert, nothing is raised twice.
            harness.produce(broker.bootstrap, [("retail.badge", {
                "ts": "2026-11-23T04:00:00Z", "badge_id": "BDG-9", "employee_id": "E200", "site_id": "S02",
                "door_id": "S02-stockroom", "event": "door_forced", "direction": "in"})])
            engine2 = harness.Engine(broker.bootstrap, self.state, extra=["--config", self.config])
            try:
                after = harness.consume_all(broker.bootstrap, "sentrail.alerts",
                                            expect_at_least=len(EXPECTED_ALERTS) + 1, timeout=60)
            finally:
                self.assertEqual(engine2.stop(), 0, engine2.stderr())
            ids = [json.loads(m.value())["id"] for m in after]
            self.assertEqual(len(ids), len(set(ids)), "an alert id appeared twice on the alerts topic")
            self.assertEqual({group_of(json.loads(m.value())) for m in after},
                             EXPECTED_ALERTS | {("sentrail-badge-door-forced", "retail.employee.id", "E200")})
            self.assertEqual(len(engine2.stdout().splitlines()), 1, engine2.stdout())

            # What the engine holds is inspectable; every alert it raised is stored once.
            inspect = harness.subprocess.run([harness.SENTRAIL, "state", "inspect", "--state", self.state],
                                             capture_output=True, text=True, timeout=60)
            self.assertEqual(inspect.returncode, 0, inspect.stderr)
            for line in inspect.stdout.splitlines():
                entry = json.loads(line)
                self.assertIn("rule", entry)
                self.assertIn("group", entry)
            self.assertIn(f"{len(EXPECTED_ALERTS) + 1} alerts stored", inspect.stderr)
            bad = harness.subprocess.run([harness.SENTRAIL, "state", "inspect", "--state", self.tmp],
                                         capture_output=True, text=True, timeout=60)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("not a Sentrail state directory", bad.stderr)
            engine.cleanup()
            engine2.cleanup()


    def test_state_inspect_shows_where_each_window_entry_came_from(self):
        """Windows and sequence steps cite their events by binary evidence keys;
        `state inspect` shows each as its time, topic, partition and offset (it
        printed the raw key bytes as text before)."""
        rules = fixtures.write_three_failures_rule(self.tmp)
        with open(rules, "a") as f:
            f.write("---\ntitle: Web login\nname: passed_login\nid: t-passed-login\n"
                    "logsource: {product: retail, service: web}\n"
                    "detection: {sel: {event.action: login_success}, condition: sel}\n---\n"
                    "title: Failure then success\nid: t-fail-then-pass\n"
                    "correlation: {type: temporal_ordered, rules: [failed_login, passed_login], "
                    "group-by: [source.ip], timespan: 60s}\n")
        with open(self.config, "a") as f:
            f.write("correlation:\n  idle_timeout: 1s\n")  # the other channels' topics stay empty
        ip, other = "203.0.113.77", "198.51.100.77"
        # Two failures (offsets 0 and 1: below the count of three, and a sequence's
        # first step), then one from elsewhere 30 s on, to move event time past them
        # (more than the allowed lateness) but not past their windows.
        events = fixtures.three_failed_logins(ip)[:2] + fixtures.three_failed_logins(other)[:1]
        events[2][1]["ts"] = "2026-11-23T04:00:30.000Z"
        inspect_args = [harness.SENTRAIL, "state", "inspect", "--state", self.state, "--entity", ip]

        def held(strict=True):
            out = harness.subprocess.run(inspect_args, capture_output=True, text=True, timeout=60)
            if not strict and out.returncode != 0:
                return {}  # the engine has not created its state yet
            self.assertEqual(out.returncode, 0, out.stderr)
            return {e["rule"]: e["state"]["window"] for e in map(json.loads, out.stdout.splitlines())}

        with harness.Broker(partitions=1) as broker:
            harness.produce(broker.bootstrap, events)
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules, extra=["--config", self.config])
            try:
                harness.wait_for(lambda: len(held(strict=False)) == 2, timeout=20, what="both rules' windows for the IP")
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
            engine.cleanup()
        windows = held()

        def source(offset):
            return {"time": f"2026-11-23T04:00:0{offset + 1}.000Z", "topic": "retail.web", "partition": 0,
                    "offset": offset}
        self.assertEqual([e["evidence"] for e in windows["t-three-failures"]], [[source(0)], [source(1)]])
        step_one, step_two = windows["t-fail-then-pass"]
        self.assertEqual(step_one["evidence"], [source(1)])  # the latest start of the sequence
        self.assertNotIn("text", step_one)
        self.assertEqual(step_two, {"time": "-", "rule": 0})

    def test_group_starting_at_the_end_correlates_though_a_partition_stays_quiet(self):
        """A new group with auto.offset.reset latest: a partition holding only old
        events gets nothing new. It must count as caught up (and go idle), not as
        a backlog never reached, or the watermark never moves and no correlation fires."""
        rules = fixtures.write_three_failures_rule(self.tmp)
        with open(self.config, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '6000'\n"
                    "    consumer.auto.offset.reset: latest\n"
                    "correlation:\n  idle_timeout: 1s\n")

        def login(ip, second):
            return json.dumps({"ts": f"2026-11-23T04:00:{second:02d}.000Z", "client_ip": ip, "method": "POST",
                               "path": "/login", "status": 401, "bytes": 1, "user_agent": "ua",
                               "session_id": "s", "user": "ann", "event": "login_failed"}).encode()

        with harness.Broker(partitions=2) as broker:
            producer = harness.Producer({"bootstrap.servers": broker.bootstrap})
            for partition in (0, 1):  # history the new group will not read
                producer.produce("retail.web", login("192.0.2.1", 0), partition=partition)
            self.assertEqual(producer.flush(10), 0)
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules, extra=["--config", self.config])
            try:
                # The group starts at the end once it has joined; until then new
                # events may be skipped, so send a fresh IP's burst every round.
                alerts, round_ = [], 0
                deadline = harness.time.time() + 60
                while not alerts and harness.time.time() < deadline:
                    ip = f"198.51.100.{round_ + 1}"
                    for second in (1, 2, 3):
                        producer.produce("retail.web", login(ip, second), partition=0)
                    self.assertEqual(producer.flush(10), 0)
                    round_ += 1
                    harness.time.sleep(3)
                    alerts = [a for a in (json.loads(line) for line in engine.stdout().splitlines() if line.strip())
                              if a["rule"]["id"] == "t-three-failures"]
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
            self.assertTrue(alerts, "no correlation alert: the quiet partition held event time back\n" + engine.stderr())
            self.assertEqual(alerts[0]["count"], 3)
            self.assertTrue(alerts[0]["group"]["source.ip"].startswith("198.51.100."))
            engine.cleanup()

    def test_an_alert_whose_publication_failed_goes_out_again_while_input_is_quiet(self):
        """The broker stops answering just as a correlation alert is raised (the
        input has gone idle, which is what releases it). Its publication times
        out; once the broker answers again the alert must reach the alerts topic
        with no further input and without a restart."""
        rules = fixtures.write_three_failures_rule(self.tmp)
        with open(self.config, "w") as f:
            # A short delivery timeout, so that publishing fails while the broker is stopped;
            # a long session, so that the pause costs no rebalance.
            f.write("kafka:\n  properties:\n    session.timeout.ms: '30000'\n"
                    "    producer.message.timeout.ms: '1500'\n"
                    "correlation:\n  idle_timeout: 6s\n")
        with harness.Broker(partitions=1) as broker:
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules,
                                    extra=["--config", self.config, "--status-interval", "0.5"])
            try:
                harness.produce(broker.bootstrap, fixtures.three_failed_logins("203.0.113.77"))
                harness.wait_for(lambda: re.search(r"events 3 ", engine.stderr()), timeout=60,
                                 what="the engine to read the three events")
                # The alert is raised once the input has been idle for 6 s: stop the broker before.
                broker.pause()
                harness.wait_for(lambda: "t-three-failures" in engine.stdout(), timeout=30,
                                 what="the correlation alert to be raised")
                harness.wait_for(lambda: "not yet published" in engine.stderr(), timeout=30,
                                 what="the engine to report the failed publication")
                broker.resume()
                published = harness.wait_for_alerts(broker.bootstrap, lambda a: a["rule"]["id"] == "t-three-failures",
                                                    timeout=60, what="the alert to be published after the broker came back")
                self.assertIsNone(engine.proc.poll(), "the engine should still be running")
            finally:
                broker.resume()
                self.assertEqual(engine.stop(), 0, engine.stderr())
            ids = {a["id"] for a in published if a["rule"]["id"] == "t-three-failures"}
            self.assertEqual(len(ids), 1, "a resend is the same alert (same id), never a new one")
            self.assertEqual([a["count"] for a in published if a["rule"]["id"] == "t-three-failures"][0], 3)
            engine.cleanup()

    def test_evidence_by_reference_waits_for_a_broker_that_stops_answering(self):
        """With evidence by reference the alert's events are read back from their
        topic when it is raised. If the broker stops answering just then, the
        alert must wait for it, not go out without its evidence: the events are
        still in the topic. A first alert is read back while the broker answers,
        so the second read starts from what that one left (the first build gave
        up after 15 s; the next one gave up records past the high mark the
        first read had heard)."""
        rules = self.write_evidence_by_reference_config()
        with harness.Broker(partitions=1) as broker:
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules,
                                    extra=["--config", self.config, "--status-interval", "0.5"])

            def of(ip):
                return lambda a: a["group"].get("source.ip") == ip

            try:
                harness.produce(broker.bootstrap, fixtures.three_failed_logins("203.0.113.78", "2026-11-23T05:00"))
                harness.wait_for_alerts(broker.bootstrap, of("203.0.113.78"), timeout=60, what="the first alert")
                harness.produce(broker.bootstrap, fixtures.three_failed_logins("203.0.113.79", "2026-11-23T05:01"))
                harness.wait_for(lambda: re.search(r"events 6 ", engine.stderr()), timeout=60,
                                 what="the engine to read the next three events")
                # The alert is raised once the input has been idle for 6 s: stop the broker before.
                broker.pause()
                # Either the engine says it waits, or (as it did before) it gives up and
                # raises the alert without its evidence: the assertions below tell which.
                harness.wait_for(lambda: "waiting for the broker to read back" in engine.stderr()
                                 or "203.0.113.79" in engine.stdout(), timeout=60,
                                 what="the engine to wait for the evidence, or give it up")
                broker.resume()
                published = harness.wait_for_alerts(broker.bootstrap, of("203.0.113.79"), timeout=60,
                                                    what="the second alert once the broker answers again")
            finally:
                broker.resume()
                self.assertEqual(engine.stop(), 0, engine.stderr())
            for ip in ("203.0.113.78", "203.0.113.79"):
                alert = next(a for a in published if a["group"].get("source.ip") == ip)
                self.assertNotIn("evidence_unavailable", alert)
                self.assertEqual(len(alert["events"]), 3, alert)
                self.assertEqual({e["fields"]["source.ip"] for e in alert["events"]}, {ip})
            self.assertNotIn("not read back", engine.stderr())
            engine.cleanup()

    def test_a_stop_while_evidence_waits_for_the_broker_leaves_the_alert_to_the_restart(self):
        """SIGTERM while an alert waits for its evidence (the broker is not
        answering): the engine stops without committing that batch, so the
        restart raises the alert again, with its evidence, exactly once."""
        rules = self.write_evidence_by_reference_config()
        with harness.Broker(partitions=1) as broker:
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules,
                                    extra=["--config", self.config, "--status-interval", "0.5"])
            try:
                harness.produce(broker.bootstrap, fixtures.three_failed_logins("203.0.113.80", "2026-11-23T06:00"))
                harness.wait_for(lambda: re.search(r"events 3 ", engine.stderr()), timeout=60,
                                 what="the engine to read the three events")
                broker.pause()
                harness.wait_for(lambda: "waiting for the broker to read back" in engine.stderr(), timeout=60,
                                 what="the engine to wait for the evidence")
                self.assertEqual(engine.stop(), 0, engine.stderr())
            finally:
                broker.resume()
                engine.stop()
            self.assertIn("not committed", engine.stderr())
            self.assertNotIn("t-three-failures", engine.stdout())
            engine.cleanup()

            again = harness.Engine(broker.bootstrap, self.state, rules=rules, extra=["--config", self.config])
            try:
                published = harness.wait_for_alerts(broker.bootstrap, lambda a: a["rule"]["id"] == "t-three-failures",
                                                    timeout=60, what="the restarted engine to raise the alert")
            finally:
                self.assertEqual(again.stop(), 0, again.stderr())
            alerts = [a for a in published if a["rule"]["id"] == "t-three-failures"]
            self.assertEqual(len(alerts), 1, alerts)
            self.assertNotIn("evidence_unavailable", alerts[0])
            self.assertEqual(len(alerts[0]["events"]), 3)
            again.cleanup()

    def test_a_record_kafka_refuses_for_good_is_replaced_by_a_notice_not_retried_forever(self):
        """Kafka refuses a record too large for the producer's message.max.bytes on
        every attempt. The engine must not retry it forever: the record leaves the
        outbox for a short notice on the dead-letter topic (the alert stays in the
        store), the refusal is counted in /metrics, and a restart sends nothing again."""
        rules = fixtures.write_three_failures_rule(self.tmp)
        with open(self.config, "w") as f:
            # A 1000-byte limit (librdkafka's least): an alert with its evidence is
            # larger, and so is the dead letter of the 5000-byte input below.
            f.write("ingest:\n  max_message_bytes: 4096\n"
                    "kafka:\n  properties:\n    session.timeout.ms: '6000'\n"
                    "    producer.message.max.bytes: '1000'\n"
                    "correlation:\n  idle_timeout: 2s\n")
        oversized = b'{"ts":"2026-11-23T04:00:00Z","event":"login","pad":"' + b"x" * 5000 + b'"}'
        with harness.Broker(partitions=1) as broker:
            harness.produce(broker.bootstrap, fixtures.three_failed_logins("203.0.113.78") + [
                ("retail.supplier", oversized),
                ("retail.pos", b'{"ts": "2026-11-23T04:00:00Z", "event": "sale", "amount": '),
            ])
            port = fixtures.free_port()
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules, metrics_port=port,
                                    extra=["--config", self.config])
            try:
                dead = harness.consume_all(broker.bootstrap, "sentrail.deadletter", expect_at_least=3, timeout=60)
                harness.wait_for(lambda: "t-three-failures" in engine.stdout(), timeout=30,
                                 what="the correlation alert on stdout")
                metrics = fixtures.metrics(port)
                time.sleep(3)  # long enough for a few retries, were there any
                self.assertIsNone(engine.proc.poll(), "the engine should still be running")
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
            stdout_alerts = [json.loads(line) for line in engine.stdout().splitlines() if line.strip()]
            alert = next(a for a in stdout_alerts if a["rule"]["id"] == "t-three-failures")
            docs = [json.loads(m.value()) for m in dead]
            notices = [d for d in docs if d["reason"] == "publication_refused"]
            self.assertEqual(sorted(d["topic"] for d in notices), ["sentrail.alerts", "sentrail.deadletter"],
                             docs)
            about_alert = next(d for d in notices if d["topic"] == "sentrail.alerts")
            self.assertEqual(about_alert["key"], alert["id"])
            self.assertGreater(about_alert["payload_bytes"], 1000)
            self.assertTrue(alert_json_head_matches(about_alert["payload_head"], alert["id"]))
            self.assertIn("too large", about_alert["detail"].lower())
            about_dead_letter = next(d for d in notices if d["topic"] == "sentrail.deadletter")
            self.assertRegex(about_dead_letter["key"], r"^retail\.supplier/0/\d+$")
            self.assertIn('"reason":"oversized"', about_dead_letter["payload_head"])
            # A dead letter within the limit is published as itself.
            self.assertIn("invalid_json", [d["reason"] for d in docs])
            self.assertEqual(len(docs), 3, docs)
            self.assertNotIn("not yet published", engine.stderr(), "a refused record is not retried")
            self.assertNotIn("stay in the outbox", engine.stderr())
            self.assertIn('sentrail_publications_refused_total{topic="sentrail.alerts"} 1', metrics)
            self.assertIn('sentrail_publications_refused_total{topic="sentrail.deadletter"} 1', metrics)
            # The alerts topic never saw the refused alert.
            self.assertEqual(harness.consume_all(broker.bootstrap, "sentrail.alerts", timeout=5, idle=1), [])
            engine.cleanup()

            # A restart on the same state finds nothing left to publish.
            port = fixtures.free_port()
            again = harness.Engine(broker.bootstrap, self.state, rules=rules, metrics_port=port,
                                   extra=["--config", self.config])
            try:
                harness.wait_for(lambda: "metrics on" in again.stderr(), timeout=30, what="the restarted engine")
                time.sleep(3)
                metrics = fixtures.metrics(port)
            finally:
                self.assertEqual(again.stop(), 0, again.stderr())
            self.assertIn("sentrail_publish_retries_total 0", metrics)
            self.assertIn("sentrail_outbox_pending_records 0", metrics)
            self.assertEqual(len(harness.consume_all(broker.bootstrap, "sentrail.deadletter", timeout=5, idle=1)), 3)
            again.cleanup()

    def test_a_burst_past_the_window_cap_is_counted_on_metrics(self):
        """10,050 failed logins from one IP within 60 s: the group's window holds
        its 10,000 newest, and the 50 it pushed out are counted per rule on
        /metrics (an operator's sign that the rule's counts saturate)."""
        rules = fixtures.write_three_failures_rule(self.tmp)
        with open(self.config, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '6000'\ncorrelation:\n  idle_timeout: 1s\n")
        burst = [("retail.web", {"ts": f"2026-11-23T04:00:{i // 1000:02d}.{i % 1000:03d}Z", "client_ip": "203.0.113.77",
                                 "method": "POST", "path": "/login", "status": 401, "bytes": 1, "user_agent": "ua",
                                 "session_id": "s", "user": f"u{i % 300}", "event": "login_failed"})
                 for i in range(10050)]
        with harness.Broker(partitions=2) as broker:
            harness.produce(broker.bootstrap, burst)
            port = fixtures.free_port()
            engine = harness.Engine(broker.bootstrap, self.state, rules=rules, metrics_port=port,
                                    extra=["--config", self.config])
            overflow = 'sentrail_correlation_window_overflow_total{rule="t-three-failures"}'
            try:
                harness.wait_for(lambda: "metrics on" in engine.stderr(), timeout=30, what="the engine's /metrics")
                # Counted as the burst is released, over one or more batches.
                harness.wait_for(lambda: overflow + " 50" in fixtures.metrics(port), timeout=60,
                                 what="50 matches pushed out, on /metrics")
                time.sleep(2)
                metrics = fixtures.metrics(port)
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
            self.assertIn(overflow + " 50\n", metrics)  # and no more
            alerts = [json.loads(line) for line in engine.stdout().splitlines() if line.strip()]
            self.assertEqual([a["count"] for a in alerts if a["rule"]["id"] == "t-three-failures"], [3])
            engine.cleanup()


def alert_json_head_matches(head, alert_id):
    """The notice quotes the start of the alert's JSON, which names the alert."""
    return head.startswith("{") and alert_id in head


if __name__ == "__main__":
    unittest.main(verbosity=2)
