#!/usr/bin/env python3
"""Writes the Grafana dashboards (dashboards/*.json) from the panel lists below.

The JSON files are committed; edit this script and run it again
(`python3 dashboards/generate.py`) rather than editing them by hand.
tests/observability checks that the files match this script, that they follow
Grafana's dashboard JSON model, and that every query returns data against a real
Prometheus scraping a running engine. A panel whose metric may legitimately have
no series (no reloads yet, no rule with a loss_exposure) ends in `or vector(0)`.
"""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


def target(expr, legend="", ref="A", instant=False):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref}
    if instant:
        t["instant"] = True
        t["range"] = False
    return t


def panel(kind, title, targets, w=12, h=8, unit="short", description="", **extra):
    p = {"type": kind, "title": title, "description": description, "datasource": DS,
         "gridPos": {"w": w, "h": h},
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "options": {}, "targets": [target(*t) if isinstance(t, tuple) else target(t) for t in targets]}
    for i, t in enumerate(p["targets"]):
        t["refId"] = chr(ord("A") + i)
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    p.update(extra)
    return p


def ts(title, targets, **kw):
    return panel("timeseries", title, targets, **kw)


def stat(title, targets, **kw):
    kw.setdefault("w", 6)
    kw.setdefault("h", 4)
    p = panel("stat", title, targets, **kw)
    for t in p["targets"]:
        t["instant"] = True
        t["range"] = False
    p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return p


def bars(title, targets, **kw):
    p = panel("bargauge", title, targets, **kw)
    for t in p["targets"]:
        t["instant"] = True
        t["range"] = False
    p["options"] = {"displayMode": "gradient", "orientation": "horizontal",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return p


def text(title, content, w=24, h=3):
    return {"type": "text", "title": title, "gridPos": {"w": w, "h": h},
            "options": {"mode": "markdown", "content": content}}


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"w": 24, "h": 1}, "panels": []}


def layout(panels):
    """Assigns ids and flows panels left to right, top to bottom, on the 24-column grid."""
    x = y = row_h = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        g = p["gridPos"]
        if x + g["w"] > 24 or p["type"] == "row":
            x, y, row_h = 0, y + row_h, 0
        g["x"], g["y"] = x, y
        x += g["w"]
        row_h = max(row_h, g["h"])
        if p["type"] == "row":
            x, y, row_h = 0, y + g["h"], 0
    return panels


def dashboard(uid, title, description, tags, panels):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["sentrail", *tags],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "utc",
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["sentrail"], "title": "Sentrail", "asDropdown": True}],
        "templating": {"list": [{
            "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": [],
        }]},
        "panels": layout(panels),
    }


def pipeline_health():
    return dashboard(
        "sentrail-pipeline-health", "Sentrail / Pipeline health",
        "Is the engine keeping up: throughput, bad input, lag, latency, state and publishing.",
        ["pipeline"], [
            row("Throughput and input quality"),
            ts("Events consumed per channel",
               [(f"sum by (channel) (rate(sentrail_events_consumed_total[{RATE}]))", "{{channel}}")],
               unit="ops", description="Decoded events per second, by channel (sentrail_events_consumed_total)."),
            ts("Dead letters by reason",
               [(f"sum by (reason) (rate(sentrail_deadletter_events_total[{RATE}])) or vector(0)", "{{reason}}")],
               unit="ops", description="Decode and mapping errors and late events sent to the dead-letter topic."),
            stat("Events/s", [f"sum(rate(sentrail_events_consumed_total[{RATE}]))"], unit="ops"),
            stat("Dead-letter ratio",
                 [f"(sum(rate(sentrail_deadletter_events_total[{RATE}])) or vector(0))"
                  f" / clamp_min(sum(rate(sentrail_events_consumed_total[{RATE}])), 1e-9)"],
                 unit="percentunit"),
            stat("Late events/s", [f"rate(sentrail_late_events_total[{RATE}])"], unit="ops",
                 description="Arrived behind the watermark: matched by detections, not correlated."),
            stat("Rules loaded", ["sentrail_rules_loaded"],
                 description="Rules in the running set (sentrail_rules_refused shows what the last load refused)."),
            stat("Input lost to retention (1 h)", ["sum(increase(sentrail_input_records_lost_total[1h])) or vector(0)"],
                 description="Records Kafka deleted before the engine read them: not correlated, not dead-lettered "
                             "(sentrail_input_records_lost_total). Anything above 0 is a gap in detection."),
            row("Lag"),
            ts("Consumer lag per partition",
               [("sum by (topic, partition) (sentrail_consumer_lag_messages)", "{{topic}}/{{partition}}")],
               description="High watermark minus position, per assigned input partition."),
            ts("Watermark lag", [("max(sentrail_watermark_lag_seconds)", "wall clock - watermark")], unit="s",
               description="How far event time trails the wall clock; includes the allowed lateness."),
            row("Latency"),
            ts("Alert latency (event time to published)", [
                (f"histogram_quantile(0.5, sum by (le, kind) (rate(sentrail_alert_latency_seconds_bucket[{RATE}])))", "p50 {{kind}}"),
                (f"histogram_quantile(0.9, sum by (le, kind) (rate(sentrail_alert_latency_seconds_bucket[{RATE}])))", "p90 {{kind}}"),
                (f"histogram_quantile(0.99, sum by (le, kind) (rate(sentrail_alert_latency_seconds_bucket[{RATE}])))", "p99 {{kind}}"),
            ], unit="s", description="Per kind: detection alerts wait for their batch; correlation alerts also for the watermark (allowed lateness)."),
            ts("Batch processing time", [
                (f"histogram_quantile(0.5, sum by (le) (rate(sentrail_batch_duration_seconds_bucket[{RATE}])))", "p50"),
                (f"histogram_quantile(0.99, sum by (le) (rate(sentrail_batch_duration_seconds_bucket[{RATE}])))", "p99"),
                (f"sum(rate(sentrail_batch_duration_seconds_sum[{RATE}])) / clamp_min(sum(rate(sentrail_batch_duration_seconds_count[{RATE}])), 1e-9)", "mean"),
            ], unit="s", description="Process, persist (one RocksDB write) and publish one batch; under a backlog the write overlaps the next batch."),
            ts("State writes", [
                (f"histogram_quantile(0.5, sum by (le) (rate(sentrail_state_write_seconds_bucket[{RATE}])))", "write p50"),
                (f"histogram_quantile(0.99, sum by (le) (rate(sentrail_state_write_seconds_bucket[{RATE}])))", "write p99"),
                (f"sum(rate(sentrail_state_write_wait_seconds_total[{RATE}]))", "loop waiting (s/s)"),
            ], unit="s", description="One batch's RocksDB write and fsync, and the share of time the loop waits for it: near 1 s/s, the disk holds the engine back."),
            row("State and publishing"),
            ts("State size", [("sum(sentrail_state_bytes)", "RocksDB state bytes")], unit="bytes", w=8),
            ts("State keys, reorder buffer, expired evidence", [
                ("sum(sentrail_state_cached_entries)", "cached state keys"),
                ("sum(sentrail_reorder_buffer_events)", "events in reorder buffer"),
                ("max(sentrail_reorder_buffer_peak_events)", "reorder buffer peak since start"),
                ("sum(increase(sentrail_state_evidence_files_dropped_total[1h]))", "evidence files dropped (last hour)"),
            ], w=8, description="Expired evidence leaves the disk in whole files: with traffic older than the evidence retention, a state size that grows while none are dropped needs a look."),
            ts("Alert sink: failures, retries, pending", [
                (f"sum(rate(sentrail_publish_failures_total[{RATE}]))", "failed records/s"),
                (f"sum(rate(sentrail_publish_retries_total[{RATE}]))", "retried records/s"),
                ("sum(sentrail_outbox_pending_records)", "pending records"),
                (f"sum(rate(sentrail_records_published_total[{RATE}]))", "published records/s"),
            ], w=8),
            ts("Alert sinks: delivered, retried, dead-lettered, queued", [
                (f'sum by (sink) (rate(sentrail_sink_deliveries_total{{outcome="delivered"}}[{RATE}]))', "{{sink}} delivered/s"),
                (f'sum by (sink) (rate(sentrail_sink_deliveries_total{{outcome="retried"}}[{RATE}]))', "{{sink}} retried/s"),
                (f'sum by (sink) (rate(sentrail_sink_deliveries_total{{outcome="dead_lettered"}}[{RATE}]))', "{{sink}} dead-lettered/s"),
                ("sum by (sink) (sentrail_sink_queue_depth)", "{{sink}} queued"),
            ], w=12, description="Configured sinks (webhook, Alertmanager, JSON lines; docs/sinks.md), each with its own durable queue."),
            ts("Alert sink delivery time", [
                (f"histogram_quantile(0.5, sum by (sink, le) (rate(sentrail_sink_delivery_seconds_bucket[{RATE}])))", "{{sink}} p50"),
                (f"histogram_quantile(0.99, sum by (sink, le) (rate(sentrail_sink_delivery_seconds_bucket[{RATE}])))", "{{sink}} p99"),
            ], unit="s", w=12, description="One delivery attempt, successful or not."),
            ts("Evidence read back (by reference)", [
                (f"sum by (source) (rate(sentrail_evidence_reads_total[{RATE}])) or vector(0)", "{{source}}"),
            ], unit="ops", w=12,
               description="With correlation.evidence: reference, the events alerts cite (and a restart's buffer) "
                           "read back: from the latest input kept in memory, or from Kafka, which the batch waits "
                           "for. Steady Kafka reads mean the windows outlast correlation.evidence_memory_mb. "
                           "Empty (0) when evidence is stored."),
        ])


def threat_overview():
    return dashboard(
        "sentrail-threat-overview", "Sentrail / Threat overview",
        "What the engine is raising: alerts by rule, level and channel, and the money at risk.",
        ["threats"], [
            stat("Alerts (last hour)", ["sum(increase(sentrail_alerts_total[1h])) or vector(0)"]),
            stat("Critical and high alerts (last hour)",
                 ['sum(increase(sentrail_alerts_total{level=~"critical|high"}[1h])) or vector(0)']),
            stat("Loss exposure, high bound (last hour)",
                 ['sum(increase(sentrail_alert_loss_exposure_total{bound="high"}[1h])) or vector(0)'],
                 description="Summed across currencies; see the per-currency panel below."),
            stat("Rules firing (last hour)", ["count(sum by (rule) (increase(sentrail_alerts_total[1h])) > 0) or vector(0)"]),
            ts("Alerts by rule", [(f"sum by (rule) (rate(sentrail_alerts_total[{RATE}])) * 60", "{{rule}}")],
               unit="short", w=24, description="Alerts per minute, by rule."),
            ts("Alerts by level", [(f"sum by (level) (rate(sentrail_alerts_total[{RATE}])) * 60", "{{level}}")]),
            ts("Alerts by channel", [(f"sum by (channel) (rate(sentrail_alerts_total[{RATE}])) * 60", "{{channel}}")],
               description="The channel of the alert's evidence; 'multiple' for cross-channel correlations."),
            bars("Top rules (last hour)", [("topk(10, sum by (rule) (increase(sentrail_alerts_total[1h])))", "{{rule}}")]),
            ts("Loss exposure per currency", [
                (f'sum by (currency) (rate(sentrail_alert_loss_exposure_total{{bound="low"}}[{RATE}])) * 3600 or vector(0)', "{{currency}} low"),
                (f'sum by (currency) (rate(sentrail_alert_loss_exposure_total{{bound="high"}}[{RATE}])) * 3600 or vector(0)', "{{currency}} high"),
            ], description="Estimated loss exposure of alerts raised, per hour (rules' loss_exposure ranges)."),
            bars("Top rules by loss exposure (high bound, last hour)", [
                ('topk(10, sum by (rule, currency) (increase(sentrail_alert_loss_exposure_total{bound="high"}[1h]))) or vector(0)',
                 "{{rule}} ({{currency}})")], w=24),
        ])


def rule_quality():
    return dashboard(
        "sentrail-rule-quality", "Sentrail / Rule quality",
        "Do the rules behave: matches against alerts, suppression, duplicates and reloads.",
        ["rules"], [
            text("About verdicts",
                 "Matches, alerts and suppression come from the engine; verdicts come from analysts closing alerts "
                 "in the triage console or API (true_positive, false_positive, benign). A rule with a high "
                 "false-positive share needs tuning: `sentrail rules stats --state DIR` lists the same per rule."),
            ts("Verdicts per rule (24h)", [
                ("sum by (rule, verdict) (increase(sentrail_alert_verdicts_total[24h])) or vector(0)",
                 "{{rule}} {{verdict}}")]),
            ts("False-positive share per rule (24h)", [
                ('sum by (rule) (increase(sentrail_alert_verdicts_total{verdict="false_positive"}[24h]))'
                 ' / clamp_min(sum by (rule) (increase(sentrail_alert_verdicts_total'
                 '{verdict=~"true_positive|false_positive"}[24h])), 1) or vector(0)', "{{rule}}")],
               unit="percentunit"),
            ts("Triage actions", [
                (f"sum by (action) (rate(sentrail_triage_actions_total[{RATE}])) * 60 or vector(0)", "{{action}}/min")],
               w=24),
            ts("Rule matches vs alerts", [
                (f"sum by (kind) (rate(sentrail_rule_matches_total[{RATE}]))", "{{kind}} matches"),
                (f"sum(rate(sentrail_alerts_total[{RATE}])) or vector(0)", "alerts"),
            ], unit="ops", description="Detection matches: events a detection rule matched. Correlation matches: "
                                       "matches fed to correlation operators."),
            ts("Alerts per 1000 matches", [
                (f"1000 * (sum(rate(sentrail_alerts_total[{RATE}])) or vector(0))"
                 f" / clamp_min(sum(rate(sentrail_rule_matches_total[{RATE}])), 1e-9)", "alerts per 1000 matches")]),
            ts("Suppressed and duplicate alerts", [
                (f"sum(rate(sentrail_alerts_suppressed_total[{RATE}])) * 60", "suppressed/min"),
                (f"sum(rate(sentrail_alerts_duplicate_total[{RATE}])) * 60", "duplicates/min (replay, restart)"),
            ]),
            ts("Matches per rule (top 10)", [
                (f"topk(10, sum by (rule, kind) (rate(sentrail_rule_matches_total[{RATE}])))", "{{rule}} ({{kind}})")],
               unit="ops", description="A rule that matches far more than it alerts is doing work for nothing "
                                       "or is one threshold away from noise."),
            ts("Matches pushed out of full windows", [
                (f"sum by (rule) (rate(sentrail_correlation_window_overflow_total[{RATE}])) or vector(0)", "{{rule}}")],
               unit="ops", description="A correlation's window holds 10,000 matches per group; past that its counts "
                                       "saturate, and an absence rule's oldest waiting events get no verdict. "
                                       "Non-zero: a burst on one entity, or a timespan too long for the traffic."),
            ts("Alerts per rule and level", [
                (f"sum by (rule, level) (rate(sentrail_alerts_total[{RATE}])) * 60", "{{rule}} ({{level}})")]),
            stat("Rules loaded", ["sum(sentrail_rules_loaded)"]),
            stat("Rules refused at last load", ["sum(sentrail_rules_refused)"]),
            stat("Reloads (last 24h)", ['sum(increase(sentrail_rule_reloads_total{outcome="success"}[24h])) or vector(0)']),
            stat("Reloads refused (last 24h)", ['sum(increase(sentrail_rule_reloads_total{outcome="refused"}[24h])) or vector(0)']),
            ts("Rule reloads by outcome", [(f"sum by (outcome) (increase(sentrail_rule_reloads_total[{RATE}])) or vector(0)", "{{outcome}}")],
               w=24),
        ])


DASHBOARDS = {
    "pipeline-health.json": pipeline_health,
    "threat-overview.json": threat_overview,
    "rule-quality.json": rule_quality,
}


def render():
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, content in render().items():
        with open(os.path.join(out, name), "w") as f:
            f.write(content)
        print(f"wrote {os.path.join(out, name)}")


if __name__ == "__main__":
    main()
