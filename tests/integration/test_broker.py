"""`sentrail broker` speaks real Kafka: an independent client produces to it and
consumes back what it produced, on every topic the broker creates."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

TOPICS = ["retail.web", "retail.mobile", "retail.pos", "retail.supplier", "retail.badge",
          "sentrail.alerts", "sentrail.deadletter"]


class BrokerTest(unittest.TestCase):
    def test_independent_client_produces_and_consumes_on_every_topic(self):
        with harness.Broker(partitions=3) as broker:
            self.assertRegex(broker.bootstrap, r"^127\.0\.0\.1:\d+$")
            c = harness.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "probe"})
            meta = c.list_topics(timeout=10)
            c.close()
            for t in TOPICS:
                self.assertIn(t, meta.topics)
                self.assertEqual(len(meta.topics[t].partitions), 3, t)
            harness.produce(broker.bootstrap, [(t, f"hello {t} {i}".encode()) for t in TOPICS for i in range(5)])
            for t in TOPICS:
                got = sorted(m.value().decode() for m in harness.consume_all(broker.bootstrap, t, expect_at_least=5))
                self.assertEqual(got, sorted(f"hello {t} {i}" for i in range(5)))

    def test_stops_cleanly_on_sigterm(self):
        broker = harness.Broker()
        broker.stop()
        self.assertEqual(broker.proc.returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
