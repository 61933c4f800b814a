"""Input the broker deleted before the engine read it can be neither correlated
nor dead-lettered, but it must not vanish unnoticed. When Kafka's retention
passes the engine's position (the engine was stopped, or paused, while the
topic grew), the engine says which partition lost how many records and counts
them in sentrail_input_records_lost_total; everything still on the broker is
read. The embedded broker keeps about 5 MiB per partition, so writing 8 MB into
one partition makes the loss real."""
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
import urllib.request

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
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
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

    def start(self, broker, port):
        return harness.Engine(broker.bootstrap, self.state, metrics_port=port,
                              extra=["--config", self.config, "--output", "none", "--status-interval", "0.2"])

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

    def check_loss_reported(self, engine, port, low, read_before):
        """`read_before`: web events this engine process read before the loss."""
        lost = low - 100
        self.wait_for_events(engine, port, read_before + 20100 - low)
        # Exactly the deleted range, once; the rest of the partition was read.
        self.assertEqual(metric(port, 'sentrail_input_records_lost_total{topic="retail.web"}'), lost)
        self.assertEqual(metric(port, 'sentrail_input_records_lost_total{topic="retail.pos"}'), 0)
        reports = re.findall(r"retail\.web/0: (\d+) records \(offsets (\d+) to (\d+)\) were deleted", engine.stderr())
        self.assertEqual(reports, [(str(lost), "100", str(low - 1))], engine.stderr()[-2000:])
        time.sleep(1)
        self.assertEqual(metric(port, 'sentrail_events_consumed_total{channel="web",topic="retail.web"}'),
                         read_before + 20100 - low)

    def test_a_restart_behind_the_log_start_reports_what_retention_deleted(self):
        with harness.Broker(partitions=1) as broker:
            harness.produce(broker.bootstrap, page_views(0, 100))
            port = fixtures.free_port()
            engine = self.start(broker, port)
            try:
                self.wait_for_events(engine, port, 100)
                # Nothing lost so far, and the series is there to alert on.
                self.assertEqual(metric(port, 'sentrail_input_records_lost_total{topic="retail.web"}'), 0)
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
            self.assertNotIn("were deleted", engine.stderr())
            engine.cleanup()
            low = self.overrun(broker)
            port = fixtures.free_port()
            again = self.start(broker, port)
            try:
                self.check_loss_reported(again, port, low, read_before=0)
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
                self.check_loss_reported(engine, port, low, read_before=100)
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
                engine.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
