"""Crash at any instant changes nothing users see: the generator streams into the
embedded broker while `sentrail run` is killed with SIGKILL at random instants
and restarted on the same state. The final alert set equals that of an
uninterrupted run over the same input (`sentrail replay` of the same generated
events), and the alerts topic holds no id twice."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SEED, COUNT = "11", "60000"
KEY = "crash-test-key-0123456789abcdef"


def stream(bootstrap, records, rate, outcome):
    """Produces `records` at `rate`; `outcome` gets what failed to be delivered,
    so a test can tell input it lost itself from input the engine lost."""
    # Compressed and spread record by record, as Sentrail's own generator writes:
    # the embedded broker drops a partition's oldest records past about 5 MiB, and
    # sticky partitioning put whole bursts of the backlog into one partition.
    p = harness.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5,
                          "compression.type": "lz4", "sticky.partitioning.linger.ms": 0})
    outcome["failed"] = []

    def report(err, msg):
        if err is not None:
            outcome["failed"].append(f"{msg.topic()}: {err}")
    started = time.time()
    for i, (_, topic, value) in enumerate(records):
        while True:
            try:
                p.produce(topic, value, on_delivery=report)
                break
            except BufferError:
                p.poll(0.05)
        if i % 500 == 0:
            p.poll(0)
            ahead = i / rate - (time.time() - started)
            if ahead > 0:
                time.sleep(ahead)
    outcome["unflushed"] = p.flush(30)


class CrashRecoveryTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sentrail-crash-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def generate(self):
        out = os.path.join(self.tmp, "files")
        subprocess.run([harness.SENTRAIL, "gen", "--seed", SEED, "--count", COUNT, "--attack-rate", "20",
                        "--out", out], check=True, capture_output=True, timeout=300)
        return [os.path.join(out, f"{c}.jsonl") for c in ("web", "mobile", "pos", "supplier", "badge")]

    def expected_alert_ids(self, files):
        p = subprocess.run([harness.SENTRAIL, "replay", "--rules", os.path.join(harness.SOURCE, "rules/pack"), *files],
                           capture_output=True, text=True, timeout=300, env=dict(os.environ, SENTRAIL_HMAC_KEY=KEY))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.expected_docs = {json.loads(line)["id"]: json.loads(line) for line in p.stdout.splitlines() if line.strip()}
        return list(self.expected_docs)

    def test_sigkill_at_random_instants_changes_no_alert(self):
        self.run_with_kills(evidence="stored")

    def test_with_evidence_by_reference_sigkill_changes_no_alert_and_no_evidence(self):
        # Buffered events are kept as references and read back from the topics
        # on each restart; cited events are read back when an alert is raised.
        self.run_with_kills(evidence="reference")

    def test_a_backlog_in_small_batches_each_written_during_the_next_gives_the_same_alerts(self):
        # No kill: the whole input waits in the broker, so batches end full and
        # each is written to the store while the next is processed; alerts raised
        # from evidence a batch still being written holds must cite it all the same.
        self.run_with_kills(evidence="stored", kills=0, rate=1e9, batch_max_messages=100)

    def run_with_kills(self, evidence, kills=None, rate=3000, batch_max_messages=500):
        kills_wanted = int(os.environ.get("CRASH_KILLS", "4")) if kills is None else kills
        files = self.generate()
        expected = self.expected_alert_ids(files)
        self.assertGreater(len(expected), 10, "the input should raise alerts")
        state = os.path.join(self.tmp, "state")
        config = os.path.join(self.tmp, "sentrail.yaml")
        with open(config, "w") as f:
            f.write(f"kafka:\n  batch_max_messages: {batch_max_messages}\n  properties:\n    session.timeout.ms: '6000'\n"
                    f"correlation:\n  idle_timeout: 3s\n  evidence: {evidence}\n")
        env = dict(os.environ, SENTRAIL_HMAC_KEY=KEY)
        rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
        with harness.Broker(partitions=3) as broker:
            # The same bytes replay reads, merged in event-time order so every
            # partition is in order, streamed at a pace that lets the kills land mid-stream.
            records = []
            for path in files:
                topic = "retail." + os.path.basename(path).split(".")[0]
                with open(path, "rb") as f:
                    for line in f:
                        line = line.rstrip(b"\n")
                        if line:
                            records.append((json.loads(line)["ts"], topic, line))
            records.sort(key=lambda r: r[0])
            produced = {}
            producing = threading.Thread(target=stream, args=(broker.bootstrap, records, rate, produced), daemon=True)
            producing.start()
            logs = []

            def start():
                log = open(os.path.join(self.tmp, f"engine-{len(logs)}.err"), "w")
                logs.append(log)
                # A new group per run: positions come from the state store, and a new group
                # is assigned at once instead of waiting out the killed member's session.
                return subprocess.Popen([harness.SENTRAIL, "run", "--brokers", broker.bootstrap, "--rules",
                                         os.path.join(harness.SOURCE, "rules/pack"), "--state", state,
                                         "--config", config, "--metrics-port", "0", "--output", "none",
                                         "--status-interval", "1", "--group", f"crash-{len(logs)}"],
                                        stdout=subprocess.DEVNULL, stderr=log, env=env)

            kills = 0
            for n in range(kills_wanted):
                engine = start()
                if n % 2 == 0:
                    # Killed mid-work: once it has processed events, at a random instant.
                    def worked(path=os.path.join(self.tmp, f"engine-{n}.err")):
                        with open(path) as log:
                            return re.search(r"events [1-9]", log.read())
                    harness.wait_for(worked, timeout=60, what=f"run {n} to process events")
                    time.sleep(rng.uniform(0.0, 2.5))
                else:
                    # Killed 4-6.5 s after its start: a join takes ~3 s, so this lands in its
                    # start-up (restoring, reading buffered events back) or early work.
                    time.sleep(rng.uniform(4.0, 6.5))
                engine.send_signal(signal.SIGKILL)
                engine.wait(timeout=10)
                kills += 1
            producing.join(timeout=300)
            self.assertFalse(producing.is_alive(), "the input was still being produced after 300 s")
            self.assertEqual((produced.get("failed"), produced.get("unflushed")), ([], 0),
                             "the test's own input did not all reach the broker")
            self.assertEqual(harness.trimmed_partitions(broker.bootstrap, sorted({r[1] for r in records})), [],
                             "the test broker dropped part of the input before the engine read it")
            engine = start()
            try:
                seen = []

                def settled():
                    nonlocal seen
                    seen = harness.consume_all(broker.bootstrap, "sentrail.alerts", timeout=8, idle=3)
                    return len({m.key() for m in seen}) >= len(set(expected))

                try:
                    harness.wait_for(settled, timeout=180, what="the alerts of the whole input")
                except AssertionError:
                    got = {json.loads(m.value())["id"]: json.loads(m.value()) for m in seen}
                    missing = set(expected) - set(got)
                    extra = set(got) - set(expected)
                    dead = harness.consume_all(broker.bootstrap, "sentrail.deadletter", timeout=5, idle=2)
                    reasons = {}
                    for m in dead:
                        r = json.loads(m.value())["reason"]
                        reasons[r] = reasons.get(r, 0) + 1
                    raise AssertionError(f"dead letters {reasons}; {len(got)} of {len(set(expected))} alerts arrived; "
                                         f"{len(missing)} missing, {len(extra)} unexpected: "
                                         f"{[got[i]['rule']['id'] for i in list(extra)[:5]]}; missing: "
                                         f"{[(self.expected_docs[i]['rule']['id'], self.expected_docs[i]['group'], self.expected_docs[i]['last_seen']) for i in list(missing)[:5]]}")
                time.sleep(3)
                seen = harness.consume_all(broker.bootstrap, "sentrail.alerts", timeout=10, idle=3)
            finally:
                engine.send_signal(signal.SIGTERM)
                engine.wait(timeout=30)
                for log in logs:
                    log.close()
            ids = [json.loads(m.value())["id"] for m in seen]
            # Each killed run must have done part of the work, or the kills proved nothing.
            progress = []
            for i in range(len(logs)):
                with open(os.path.join(self.tmp, f"engine-{i}.err")) as f:
                    progress.append(f.read())
            worked = [i for i, text in enumerate(progress[:-1]) if re.search(r"events [1-9]", text)]
            if kills:
                self.assertGreaterEqual(len(worked), 2, f"only runs {worked} processed events before being killed")
            if evidence == "reference":
                reread = [i for i, text in enumerate(progress) if re.search(r"read [1-9]\d* buffered events back", text)]
                self.assertTrue(reread, "no restart read a buffered event back from its topic")
                self.assertFalse(any("not restored" in text for text in progress))
            if os.environ.get("CRASH_VERBOSE"):
                print(f"\n{len(expected)} expected alerts, {len(ids)} on the topic", file=sys.stderr)
                for i, text in enumerate(progress):
                    print(f"--- run {i}\n" + "\n".join(text.splitlines()[-3:]), file=sys.stderr)
            self.assertEqual(kills, kills_wanted)
            self.assertEqual(len(ids), len(set(ids)), "an alert id appears twice on the alerts topic")
            self.assertEqual(sorted(set(ids)), sorted(set(expected)),
                             "the alerts after crashes differ from an uninterrupted run")
            # And each alert cites the same events, as minimised, as the uninterrupted
            # run (replay's coordinates are file lines, so compare the events themselves).
            def cited(doc):
                return sorted((e["channel"], e["@timestamp"], json.dumps(e["fields"], sort_keys=True))
                              for e in doc["events"])
            got = {json.loads(m.value())["id"]: json.loads(m.value()) for m in seen}
            differ = [i for i in expected if cited(got[i]) != cited(self.expected_docs[i])]
            self.assertEqual(differ, [], f"{len(differ)} alerts cite other events than replay, e.g. "
                             f"{[(got[i]['rule']['id'], len(got[i]['events']), len(self.expected_docs[i]['events'])) for i in differ[:3]]}")
            self.assertFalse(any("evidence_unavailable" in got[i] for i in expected))


if __name__ == "__main__":
    unittest.main(verbosity=2)
