"""`sentrail run` reloads its rule folder on change and on SIGHUP; a bad edit is
refused with file:line and cause, counted, and the last good set keeps running."""
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DOOR_RULE = """title: Door forced
id: reload-door-forced
level: high
logsource: {product: retail, service: badge}
detection: {sel: {event.action: door_forced}, condition: sel}
"""
HELD_RULE = """title: Door held open
id: reload-door-held
level: low
logsource: {product: retail, service: badge}
detection: {sel: {event.action: door_held}, condition: sel}
"""


def badge(action, n):
    return ("retail.badge", {"ts": f"2026-11-23T03:00:{n:02d}Z", "badge_id": f"B{n}", "employee_id": f"E{n}",
                             "site_id": "S1", "door_id": "D1", "event": action, "direction": "in"})


class HotReloadTest(unittest.TestCase):
    def test_reloads_good_edits_and_keeps_the_last_good_set_on_bad_ones(self):
        tmp = tempfile.mkdtemp(prefix="sentrail-reload-")
        rules = os.path.join(tmp, "rules")
        os.makedirs(rules)
        with open(os.path.join(rules, "door.yml"), "w") as f:
            f.write(DOOR_RULE)
        try:
            with harness.Broker() as broker:
                engine = harness.Engine(broker.bootstrap, os.path.join(tmp, "state"), rules=rules)
                try:
                    def alert_rules():
                        return [json.loads(m.value())["rule"]["id"]
                                for m in harness.consume_all(broker.bootstrap, "sentrail.alerts", timeout=3, idle=1)]

                    harness.produce(broker.bootstrap, [badge("door_held", 1), badge("door_forced", 2)])
                    harness.wait_for(lambda: alert_rules() == ["reload-door-forced"], what="the first rule's alert")

                    # A new file: picked up without a signal.
                    with open(os.path.join(rules, "held.yml"), "w") as f:
                        f.write(HELD_RULE)
                    harness.wait_for(lambda: "rules reloaded" in engine.stderr(), what="the reload")
                    harness.produce(broker.bootstrap, [badge("door_held", 3)])
                    harness.wait_for(lambda: alert_rules().count("reload-door-held") == 1, what="the new rule's alert")

                    # A broken edit: refused with its location, the last good set stays.
                    with open(os.path.join(rules, "held.yml"), "w") as f:
                        f.write(HELD_RULE.replace("condition: sel", "condition: missing_selection"))
                    engine.proc.send_signal(signal.SIGHUP)
                    harness.wait_for(lambda: "rule reload refused" in engine.stderr(), what="the refusal")
                    self.assertRegex(engine.stderr(), r"held\.yml:\d+:\d+: error: .*missing_selection")
                    harness.produce(broker.bootstrap, [badge("door_held", 4), badge("door_forced", 5)])
                    harness.wait_for(lambda: len(alert_rules()) == 4, what="alerts from the last good set")
                    self.assertEqual(sorted(alert_rules()), ["reload-door-forced", "reload-door-forced",
                                                             "reload-door-held", "reload-door-held"])
                    self.assertIsNone(engine.proc.poll(), "the engine stopped")
                finally:
                    self.assertEqual(engine.stop(), 0, engine.stderr())
                    engine.cleanup()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
