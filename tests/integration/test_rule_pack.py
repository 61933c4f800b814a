"""The shipped retail rule pack: it lints clean, its own tests pass, and on a
generated day with injected attacks and near misses `sentrail eval` finds every
incident of every rule and raises no false positive."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

SENTRAIL = os.environ.get("SENTRAIL_BIN", "build/sentrail")
SOURCE = os.environ.get("SENTRAIL_SOURCE_DIR", ".")
RULES = os.path.join(SOURCE, "rules/pack")


def run(*args, timeout=120):
    return subprocess.run([SENTRAIL, *args], capture_output=True, text=True, timeout=timeout)


class RulePackTest(unittest.TestCase):
    def test_the_pack_lints_with_no_errors(self):
        p = run("rules", "lint", RULES)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, r"\b0 errors\b")

    def test_the_packs_own_tests_pass(self):
        p = run("rules", "test", RULES)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"rules test: \d+ passed, 0 failed")

    def test_eval_on_a_generated_day_finds_every_incident_with_no_false_positive(self):
        tmp = tempfile.mkdtemp(prefix="sentrail-pack-")
        try:
            subprocess.run([SENTRAIL, "gen", "--seed", "11", "--count", "200000", "--attack-rate", "5",
                            "--out", tmp], check=True, capture_output=True, timeout=120)
            files = [os.path.join(tmp, f"{c}.jsonl") for c in ("web", "mobile", "pos", "supplier", "badge")]
            p = run("eval", "--rules", RULES, "--truth", os.path.join(tmp, "truth.jsonl"), *files)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            rows = {}
            for line in p.stdout.splitlines():
                m = re.match(r"(sentrail-\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)", line)
                if m:
                    rows[m.group(1)] = m.groups()[1:]
            with open(os.path.join(tmp, "truth.jsonl")) as f:
                truth = f.read()
            injected_rules = set(re.findall(r'"rule":"([^"]+)"', truth))
            for rule in injected_rules:
                self.assertIn(rule, rows, f"{rule} missing from the eval table:\n{p.stdout}")
            for rule, (injected, found, missed, alerts, fp, recall, precision) in rows.items():
                self.assertEqual(fp, "0", f"{rule}: false positives\n{p.stdout}")
                if int(injected):
                    self.assertEqual(recall, "1.000", f"{rule}\n{p.stdout}")
                    self.assertEqual(precision, "1.000", f"{rule}\n{p.stdout}")
            # Every alerting rule of the pack has a scenario in the stream.
            self.assertGreaterEqual(len([r for r in rows.values() if int(r[0])]), 22, p.stdout)
            self.assertIn('"near_miss":true', truth)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_eval_explains_bad_input(self):
        p = run("eval", "--rules", RULES, "--truth", "/nonexistent", "x.jsonl")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--help", run("eval", "--help").stdout + "--help")


if __name__ == "__main__":
    unittest.main()
