"""Inputs shared by integration tests that need no Kafka client (harness.py skips without one)."""
import os
import socket
import urllib.request


def write_three_failures_rule(folder):
    """A detection of failed web logins and its correlation t-three-failures (3 per IP in 60 s)."""
    rule = os.path.join(folder, "rules.yml")
    with open(rule, "w") as f:
        f.write("title: Failed web login\nname: failed_login\nid: t-failed-login\n"
                "logsource: {product: retail, service: web}\n"
                "detection: {sel: {event.action: login_failed}, condition: sel}\n---\n"
                "title: Three failed logins from one IP\nid: t-three-failures\nlevel: medium\n"
                "correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], "
                "timespan: 60s, condition: {gte: 3}}\n")
    return rule


def metrics(port):
    """The text of an engine's /metrics on 127.0.0.1:PORT."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def free_port():
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def three_failed_logins(ip, minute="2026-11-23T04:00"):
    """Raw web events at seconds 1, 2 and 3 of `minute`: what t-three-failures counts."""
    return [("retail.web", {"ts": f"{minute}:0{s}.000Z", "client_ip": ip, "method": "POST", "path": "/login",
                            "status": 401, "bytes": 1, "user_agent": "ua", "session_id": "s", "user": "ann",
                            "event": "login_failed"})
            for s in (1, 2, 3)]
