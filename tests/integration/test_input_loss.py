"""Input the broker deleted before the engine read it can be neither correlated
nor dead-lettered, but it must not vanish unnoticed. When Kafka's retention
passes the engine's position (the engine was stopped, or paused, while the
topic grew), the engine says which partition lost how many records and counts
them in sentrail_input_records_lost_total; it reads on from where the consumer
resumes (auto.offset.reset), and records skipped by a reset to the end count
as lost too. The embedded broker keeps about 5 MiB per partition, so writing
8 MB into one partition makes the loss real."""
import datetime
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest
import urllib.error

sys.path.insert(0, os.path.dirname(__file__))
import fixtures  # noqa: E402
import harness  # noqa: E402

START = datetime.datetime(2026, 11, 23, 5, 0, tzinfo=datetime.timezone.utc)


def page_views(first, count):
    """Valid web events of about 400 bytes, 10 ms apart from event `first` on."""
    out = []
    for i in range(first, first + count):
        ts = (START + datetime.timedelta(milliseconds=10 * i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        out.append(("retail.web", {"ts": ts, "client_ip": "198.51.100.20", "method": "GET",
                                   "path": "/catalog/" + "x" * 250 + str(i), "status": 200, "bytes": 10,
                                   "user_agent": "ua", "session_id": "s", "user": "", "event": "page_view"}))
    return out


def metric(port, line_prefix):
    """The value of one series on the engine's /metrics, or None (no series, or not serving yet)."""
    try:
        text = fixtures.metrics(port)
    except urllib.error.URLError:
        return None
    for line in text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.split()[-1])
    return None


class InputLossTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sentrail-loss-")
        self.state = os.path.join(self.tmp, "state")
        self.config = os.path.join(self.tmp, "sentrail.yaml")
        with open(self.config, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '6000'\n")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, broker, port, config=None):
        return harness.Engine(broker.bootstrap, self.state, metrics_port=port,
                              extra=["--config", config or self.config, "--output", "none", "--status-interval", "0.2"])

    def wait_for_events(self, engine, port, count):
        web = 'sentrail_events_consumed_total{channel="web",topic="retail.web"}'
        try:
            harness.wait_for(lambda: engine.proc.poll() is None and (metric(port, web) or 0) >= count, timeout=90,
                             what=f"{count} web events consumed")
        except AssertionError as e:
            raise AssertionError(f"{e}; {metric(port, web)} were; stderr: {engine.stderr()[-1500:]}") from None

    def overrun(self, broker):
        """Writes 8 MB after the first 100 events; returns the partition's new log start."""
        harness.produce(broker.bootstrap, page_views(100, 20000))
        trimmed = harness.trimmed_partitions(broker.bootstrap, ["retail.web"])
        self.assertEqual(len(trimmed), 1, "the broker should have dropped the oldest records")
        low = int(re.search(r"before offset (\d+)", trimmed[0]).group(1))
        self.assertGreater(low, 100, "retention should have passed the engine's position")
        return low

    def check_loss_reported(self, engine, port, resumed_at, consumed):
        """Records 100 up to `resumed_at` were lost; this engine process read `consumed` web events."""
        lost = resumed_at - 100
        self.wait_for_events(engine, port, consumed)
        # Exactly the unread range, once; the rest of the partition was read.
        self.assertEqual(metric(port, 'sentrail_input_records_lost_total{topic="retail.web"}'), lost)
        self.assertEqual(metric(port, 'sentrail_input_records_lost_total{topic="retail.pos"}'), 0)
        self.assertEqual(self.reports(engine), [(lost, 100, resumed_at - 1)], engine.stderr()[-2000:])
        time.sleep(1)
        self.assertEqual(metric(port, 'sentrail_events_consumed_total{channel="web",topic="retail.web"}'), consumed)

    @staticmethod
    def reports(engine):
        """(count, first, last) of each loss the engine reported on stderr."""
        found = re.findall(r"retail\.web/0: (\d+) records \(offsets (\d+) to (\d+)\) were never read", engine.stderr())
        return [tuple(int(x) for x in r) for r in found]

    def read_first_100_then_overrun(self, broker):
        """A first run reads events 0-99 and stops; then the topic outgrows the
        broker's retention. Returns the partition's new log start."""
        port = fixtures.free_port()
        engine = self.start(broker, port)
        try:
            self.wait_for_events(engine, port, 100)
            # Nothing lost so far, and the series is there to alert on.
            self.assertEqual(metric(port, 'sentrail_input_records_lost_total{topic="retail.web"}'), 0)
        finally:
            self.assertEqual(engine.stop(), 0, engine.stderr())
        self.assertEqual(self.reports(engine), [])
        self.assertNotIn("never read", engine.stderr())
        engine.cleanup()
        return self.overrun(broker)

    def restart_and_check_the_loss(self, broker, low):
        """A new engine process on the state directory: records 100 up to the log
        start `low` are reported lost, and everything after them is read."""
        port = fixtures.free_port()
        again = self.start(broker, port)
        try:
            self.check_loss_reported(again, port, resumed_at=low, consumed=20100 - low)
        finally:
            self.assertEqual(again.stop(), 0, again.stderr())
        # The run's closing summary says it too.
        self.assertIn(f", {low - 100} input records never read", again.stderr())
        again.cleanup()

    def test_a_restart_behind_the_log_start_reports_what_retention_deleted(self):
        with harness.Broker(partitions=1) as broker:
            harness.produce(broker.bootstrap, page_views(0, 100))
            low = self.read_first_100_then_overrun(broker)
            self.restart_and_check_the_loss(broker, low)

    def test_a_new_state_directory_resuming_from_the_group_reports_the_loss_too(self):
        # The group's committed offset says where reading should go on when the
        # store has no position (the state directory was lost or replaced).
        with harness.Broker(partitions=1) as broker:
            harness.produce(broker.bootstrap, page_views(0, 100))
            low = self.read_first_100_then_overrun(broker)
            c = harness.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "itest"})
            committed = c.committed([harness.TopicPartition("retail.web", 0)], timeout=10)[0].offset
            c.close()
            self.assertEqual(committed, 100, "the first run should have committed its position to the group")
            shutil.rmtree(self.state)
            self.restart_and_check_the_loss(broker, low)

    def test_a_reset_to_the_end_counts_the_records_it_skipped_as_lost(self):
        # auto.offset.reset: latest goes on after records still on the broker:
        # they were never read either.
        latest = os.path.join(self.tmp, "latest.yaml")
        with open(latest, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '6000'\n    consumer.auto.offset.reset: latest\n")
        with harness.Broker(partitions=1) as broker:
            harness.produce(broker.bootstrap, page_views(0, 100))
            low = self.read_first_100_then_overrun(broker)
            port = fixtures.free_port()
            again = self.start(broker, port, config=latest)
            try:
                # The reset lands at the end, so only records written after it are
                # read: write a few at a time until the engine reads some.
                written = 20100
                web = 'sentrail_events_consumed_total{channel="web",topic="retail.web"}'
                deadline = time.time() + 90
                while not (metric(port, web) or 0) and time.time() < deadline:
                    harness.produce(broker.bootstrap, page_views(written, 10))
                    written += 10
                    time.sleep(1)
                self.assertTrue(metric(port, web), f"no event read after the reset; {again.stderr()[-1500:]}")
                [(lost, first, last)] = self.reports(again)
                resumed_at = last + 1
                # Everything from the stored position to where it resumed counts,
                # the records still on the broker (from the log start on) included.
                self.assertEqual((first, lost), (100, resumed_at - 100))
                self.assertGreaterEqual(resumed_at, 20100)
                self.assertLess(low, resumed_at)
                self.check_loss_reported(again, port, resumed_at=resumed_at, consumed=written - resumed_at)
            finally:
                self.assertEqual(again.stop(), 0, again.stderr())
                again.cleanup()

    def test_a_paused_engine_overtaken_by_retention_reports_what_it_lost(self):
        with harness.Broker(partitions=1) as broker:
            harness.produce(broker.bootstrap, page_views(0, 100))
            port = fixtures.free_port()
            engine = self.start(broker, port)
            try:
                self.wait_for_events(engine, port, 100)
                engine.proc.send_signal(signal.SIGSTOP)
                try:
                    low = self.overrun(broker)
                finally:
                    engine.proc.send_signal(signal.SIGCONT)
                self.check_loss_reported(engine, port, resumed_at=low, consumed=100 + 20100 - low)
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
                engine.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
