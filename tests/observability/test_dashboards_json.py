"""Every Grafana dashboard in dashboards/ follows the dashboard JSON model basics:
schemaVersion, title, uid, panels with unique ids and a gridPos, every panel and
query on the ${datasource} template variable, every query with a PromQL expr, and
the committed JSON is what dashboards/generate.py writes."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import dashboards  # noqa: E402

DATASOURCE_REF = "${datasource}"
NO_QUERY_TYPES = {"row", "text", "news", "dashlist"}


class DashboardJsonTest(unittest.TestCase):
    def setUp(self):
        self.files = dashboards.dashboard_files()

    def test_there_are_the_three_dashboards(self):
        names = {os.path.basename(f) for f in self.files}
        self.assertEqual(names, {"pipeline-health.json", "threat-overview.json", "rule-quality.json"})

    def test_each_dashboard_has_the_model_basics(self):
        uids = set()
        for path in self.files:
            with self.subTest(dashboard=os.path.basename(path)):
                d = dashboards.load(path)
                self.assertIsInstance(d.get("schemaVersion"), int)
                self.assertGreaterEqual(d["schemaVersion"], 30)
                self.assertTrue(d.get("title"))
                self.assertRegex(d.get("uid", ""), r"^[A-Za-z0-9_-]{1,40}$")
                self.assertNotIn(d["uid"], uids, "dashboard uids must be unique")
                uids.add(d["uid"])
                self.assertIsInstance(d.get("panels"), list)
                self.assertTrue(d["panels"])

    def test_templating_has_a_prometheus_datasource_variable(self):
        for path in self.files:
            with self.subTest(dashboard=os.path.basename(path)):
                variables = dashboards.load(path)["templating"]["list"]
                ds = [v for v in variables if v.get("name") == "datasource"]
                self.assertEqual(len(ds), 1)
                self.assertEqual(ds[0]["type"], "datasource")
                self.assertEqual(ds[0]["query"], "prometheus")

    def test_panels_have_unique_ids_and_a_grid_position(self):
        for path in self.files:
            d = dashboards.load(path)
            ids = []
            for p in dashboards.all_panels(d):
                with self.subTest(dashboard=os.path.basename(path), panel=p.get("title")):
                    self.assertIsInstance(p.get("id"), int)
                    ids.append(p["id"])
                    self.assertTrue(p.get("type"))
                    self.assertTrue(p.get("title"))
                    g = p.get("gridPos", {})
                    for k in ("x", "y", "w", "h"):
                        self.assertIsInstance(g.get(k), int, f"gridPos.{k}")
                    self.assertGreater(g["w"], 0)
                    self.assertGreater(g["h"], 0)
                    self.assertLessEqual(g["x"] + g["w"], 24)
            self.assertEqual(len(ids), len(set(ids)), f"{path}: duplicate panel ids")

    def test_panels_do_not_overlap(self):
        for path in self.files:
            cells = {}
            for p in dashboards.all_panels(dashboards.load(path)):
                g = p["gridPos"]
                for x in range(g["x"], g["x"] + g["w"]):
                    for y in range(g["y"], g["y"] + g["h"]):
                        self.assertNotIn((x, y), cells, f"{path}: '{p['title']}' overlaps '{cells.get((x, y))}'")
                        cells[(x, y)] = p["title"]

    def test_every_query_panel_uses_the_datasource_variable_and_has_exprs(self):
        for path in self.files:
            for p in dashboards.all_panels(dashboards.load(path)):
                if p["type"] in NO_QUERY_TYPES:
                    continue
                with self.subTest(dashboard=os.path.basename(path), panel=p["title"]):
                    self.assertEqual(p.get("datasource", {}).get("uid"), DATASOURCE_REF)
                    self.assertEqual(p["datasource"].get("type"), "prometheus")
                    self.assertTrue(p.get("targets"), "a query panel needs targets")
                    refs = [t.get("refId") for t in p["targets"]]
                    self.assertEqual(len(refs), len(set(refs)), "refIds must be unique in a panel")
                    for t in p["targets"]:
                        self.assertTrue(t.get("expr", "").strip(), "every target needs a PromQL expr")
                        self.assertEqual(t.get("datasource", {}).get("uid"), DATASOURCE_REF)
                        dashboards.grafana_to_promql(t["expr"])  # only known variables

    def test_queries_use_only_sentrail_metrics_with_bounded_labels(self):
        for path in self.files:
            for title, ref, expr in dashboards.panel_queries(dashboards.load(path)):
                with self.subTest(panel=title, ref=ref):
                    names = re.findall(r"\b(sentrail_[a-z_]+)", expr)
                    self.assertTrue(names, f"{expr!r} reads no sentrail_ metric")
                    for forbidden in ("user", "ip", "entity", "employee", "customer"):
                        self.assertNotRegex(expr, rf"by \([^)]*\b{forbidden}\b")

    def test_committed_json_is_what_the_generator_writes(self):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([sys.executable, os.path.join(dashboards.DASHBOARDS_DIR, "generate.py"), out],
                           check=True, capture_output=True)
            for path in self.files:
                with open(path) as committed, open(os.path.join(out, os.path.basename(path))) as fresh:
                    self.assertEqual(committed.read(), fresh.read(),
                                     f"{path} differs from dashboards/generate.py's output: run it again")


if __name__ == "__main__":
    unittest.main()
