"""dashboards/alerts.yml and dashboards/prometheus.yml pass `promtool check rules`
and `promtool check config` (Debian's prometheus package ships promtool)."""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import dashboards  # noqa: E402

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
if not os.path.exists(PROMTOOL):
    print("SKIP: promtool is absent; install Debian's prometheus (scripts/install-deps.sh --with-test-tools)")
    sys.exit(77)


def promtool(*args):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


class PromtoolTest(unittest.TestCase):
    def test_alert_rules_pass_promtool_check_rules(self):
        r = promtool("check", "rules", os.path.join(dashboards.DASHBOARDS_DIR, "alerts.yml"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout + r.stderr)

    def test_scrape_config_passes_promtool_check_config(self):
        r = promtool("check", "config", os.path.join(dashboards.DASHBOARDS_DIR, "prometheus.yml"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1 rule files found", r.stdout + r.stderr)

    def test_the_scrape_config_targets_the_engine_on_loopback(self):
        with open(os.path.join(dashboards.DASHBOARDS_DIR, "prometheus.yml")) as f:
            self.assertIn('"127.0.0.1:9464"', f.read())


if __name__ == "__main__":
    unittest.main()
