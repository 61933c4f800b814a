"""Event-to-alert latency as a user of the alerts topic sees it.

    /usr/bin/python3 scripts/lib/alert_latency.py BOOTSTRAP TOPIC SECONDS

Reads TOPIC from its current end, prints "ready" once it is assigned there,
then for SECONDS takes every alert as it arrives and keeps, per kind (detection
or correlation), the wall time of arrival minus the alert's last_seen (the event
time of the last event it cites; `sentrail gen --rate` stamps events with the
wall clock when it produces them). Prints exact percentiles (nearest rank), not
histogram bucket bounds. Producer batching, the broker, the engine's batch,
its durable write and the alert's publication are all inside the figure. Then,
per kind, the share after the engine raised the alert (arrival - emitted_at):
what the engine's batch, write and publication add, apart from the way in
(the producer's linger, the broker, the consumer's fetch).

With ALERT_TIMELINE=FILE in the environment, also writes one line per alert to
FILE: arrival wall time, delay in ms, kind, ms after it was raised; to see
whether a tail is spread out or comes in stalls.
"""
import os
import json
import math
import sys
import time
from datetime import datetime

from confluent_kafka import Consumer, TopicPartition


def event_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(sorted_values, p):
    """Nearest rank: the smallest value with at least p of the samples at or below it."""
    rank = max(1, math.ceil(p * len(sorted_values)))
    return sorted_values[rank - 1]


def figures(sorted_values):
    return ", ".join(f"p{p * 100:g} {percentile(sorted_values, p) * 1000:.0f} ms" for p in (0.5, 0.99, 0.999))


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    bootstrap, topic, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"alert-latency-{time.time_ns()}",
        "enable.auto.commit": False,
        # A real alert consumer would not wait long either; the default 500 ms
        # would be added to every figure.
        "fetch.wait.max.ms": 1,
    })
    # Assigned at each partition's current end, not subscribed: a group's offset
    # reset finishes at some point after the assignment, and alerts published
    # before it would be read late and counted as slow.
    partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
    if not partitions:
        print(f"alert_latency: {topic} has no partitions", file=sys.stderr)
        return 1
    ends = []
    for p in sorted(partitions):
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends.append(TopicPartition(topic, p, high))
    consumer.assign(ends)
    print("ready", flush=True)
    delays, after_raise = {}, {}
    timeline = open(os.environ["ALERT_TIMELINE"], "w") if os.environ.get("ALERT_TIMELINE") else None
    end = time.time() + seconds
    while time.time() < end:
        m = consumer.poll(0.05)
        if m is None or m.error():
            continue
        arrived = time.time()
        alert = json.loads(m.value())
        kind = "detection" if alert.get("type") == "detection" else "correlation"
        delay = arrived - event_time(alert["last_seen"])
        delays.setdefault(kind, []).append(delay)
        raised = arrived - event_time(alert["emitted_at"])
        after_raise.setdefault(kind, []).append(raised)
        if timeline:
            timeline.write(f"{arrived:.3f} {delay * 1000:.1f} {kind} {raised * 1000:.1f}\n")
    consumer.close()
    if timeline:
        timeline.close()
    for kind, values in sorted(delays.items()):
        values.sort()
        note = "" if len(values) >= 1000 else " (under 1000 alerts: p99.9 is the slowest)"
        print(f"{kind}: {len(values)} alerts read from {topic}; arrival - last event time: {figures(values)}, "
              f"max {values[-1] * 1000:.0f} ms{note}")
        print(f"{kind}: of which after the engine raised it (arrival - emitted_at): "
              f"{figures(sorted(after_raise[kind]))}")
    if not delays:
        print(f"alert_latency: no alert arrived on {topic} within {seconds:g} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
