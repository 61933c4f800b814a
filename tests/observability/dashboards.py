"""Shared by the observability tests: where the dashboards live and their queries."""
import glob
import json
import os
import re

SOURCE = os.environ.get("SENTRAIL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DASHBOARDS_DIR = os.path.join(SOURCE, "dashboards")

# Grafana's built-in interval variables, as a Prometheus scraping every second would see them.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "5s", "$__range": "1h"}


def dashboard_files():
    return sorted(glob.glob(os.path.join(DASHBOARDS_DIR, "*.json")))


def load(path):
    with open(path) as f:
        return json.load(f)


def all_panels(dashboard):
    """Every panel, including those nested in collapsed rows."""
    for p in dashboard.get("panels", []):
        yield p
        for inner in p.get("panels", []) or []:
            yield inner


def panel_queries(dashboard):
    """(panel title, refId, expr) of every query target."""
    for p in all_panels(dashboard):
        for t in p.get("targets", []) or []:
            if "expr" in t:
                yield p.get("title", ""), t.get("refId", ""), t["expr"]


def grafana_to_promql(expr):
    for var, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(var, value)
    left = re.findall(r"\$\{?\w+\}?", expr)
    if left:
        raise ValueError(f"unknown Grafana variables {left} in {expr!r}")
    return expr

