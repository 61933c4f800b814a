"""The triage API through real parts: `sentrail broker`, a real `sentrail run
--api-port P` with a tokens file of four tokens (one per role, made by `sentrail
token new`), events of every channel produced by an independent Kafka client.
Every endpoint is tried without a token, with a bad one and with each role; then
an analyst's day: filter and page the queue, open an alert and its evidence,
acknowledge, assign, note, close with a verdict, reopen, close an incident; the
audit log, rule stats (API, metrics and `sentrail rules stats`), and the triage
state after a restart (over HTTPS with a self-signed certificate when the
openssl CLI is there)."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import fixtures  # noqa: E402
import harness  # noqa: E402  (skips itself when confluent_kafka is absent)

TS = harness.TRIAGE_TS
PAN_VISA = harness.PAN_VISA

# The shared triage events, plus forced doors of six more employees a minute
# apart: one alert and one incident each, the objects the role table acts on.
EVENTS = harness.TRIAGE_EVENTS + [
    ("retail.badge", {"ts": f"2026-11-23T03:0{i}:30.000Z", "badge_id": f"BDG-3{i}", "employee_id": f"E30{i}",
                      "site_id": "S03", "door_id": f"S03-loading-{i}", "event": "door_forced", "direction": "in"})
    for i in range(6)
]
INSIDER_RULE = "sentrail-insider-risk-employee"
EXPECTED_ALERTS = 13
ROLES = ["viewer", "analyst", "engineer", "admin"]


class Api:
    def __init__(self, base, token=None, context=None):
        self.base = base
        self.token = token
        self.context = context

    def raw(self, method, path, data=None, token=None, headers=None):
        req = urllib.request.Request(self.base + path, data=data, method=method)
        token = self.token if token is None else token
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def call(self, method, path, body=None, token=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        if method == "POST" and data is None:
            data = b""
        status, _, payload = self.raw(method, path, data, token,
                                      {"Content-Type": "application/json"} if data else None)
        return status, json.loads(payload) if payload else None

    def get(self, path, **query):
        status, body = self.call("GET", path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else ""))
        if status != 200:
            raise AssertionError(f"GET {path} {query} -> {status} {body}")
        return body

    def post(self, path, body=None, expect=200):
        status, answer = self.call("POST", path, body)
        if status != expect:
            raise AssertionError(f"POST {path} {body} -> {status} {answer}, expected {expect}")
        return answer


class TriageApiTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sentrail-triage-")
        self.state = os.path.join(self.tmp, "state")
        # One token per role, made the way an operator makes them.
        self.tokens = {}
        lines = []
        for role in ROLES:
            out = subprocess.run([harness.SENTRAIL, "token", "new", "--name", f"{role}-user", "--role", role],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            token_line, yaml_line = out.stdout.splitlines()[:2]
            self.assertTrue(token_line.startswith("token: st_"), out.stdout)
            self.tokens[role] = token_line.split(": ", 1)[1]
            self.assertNotIn(self.tokens[role], yaml_line)  # only its hash goes in the file
            lines.append(yaml_line)
        self.tokens_file = os.path.join(self.tmp, "tokens.yaml")
        with open(self.tokens_file, "w") as f:
            f.write("tokens:\n" + "\n".join(lines) + "\n")
        self.api_port, self.metrics_port = fixtures.free_port(), fixtures.free_port()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, tls=None):
        path = os.path.join(self.tmp, "https.yaml" if tls else "sentrail.yaml")
        with open(path, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '6000'\n"
                    "correlation:\n  idle_timeout: 1s\n"
                    f"api:\n  tokens_file: {self.tokens_file}\n  incident_span: 1h\n  max_body_bytes: 65536\n")
            if tls:
                f.write(f"  tls_cert: {tls[0]}\n  tls_key: {tls[1]}\n")
        return path

    def start_engine(self, bootstrap, tls=None):
        return harness.Engine(bootstrap, self.state, metrics_port=self.metrics_port,
                              extra=["--config", self.config(tls), "--api-port", str(self.api_port)])

    def test_roles_actions_incidents_audit_stats_and_restart(self):
        with harness.Broker(partitions=2) as broker:
            # The API refuses to start without a tokens file.
            bare = subprocess.run([harness.SENTRAIL, "run", "--brokers", broker.bootstrap, "--rules",
                                   os.path.join(harness.SOURCE, "rules/pack"), "--state", self.state,
                                   "--api-port", str(self.api_port), "--metrics-port", "0"],
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(bare.returncode, 2)
            self.assertIn("tokens_file", bare.stderr)
            # Nor with a tokens file it cannot trust, or half a TLS setup.
            bad_tokens = os.path.join(self.tmp, "bad-tokens.yaml")
            with open(bad_tokens, "w") as f:
                f.write("tokens:\n  - {name: eve, role: root, sha256: " + "ab" * 32 + "}\n")
            missing = os.path.join(self.tmp, "missing.pem")
            for text, cause in [
                (f"api:\n  tokens_file: {bad_tokens}\n", f"{bad_tokens}:2:"),
                (f"api:\n  tokens_file: {self.tokens_file}\n  tls_cert: {missing}\n", "go together"),
                (f"api:\n  tokens_file: {self.tokens_file}\n  tls_cert: {missing}\n  tls_key: {missing}\n",
                 "cannot load the TLS certificate"),
                (f"api:\n  tokens_file: {self.tokens_file}\n  incident_span: soon\n", "incident_span must be"),
            ]:
                config = os.path.join(self.tmp, "refused.yaml")
                with open(config, "w") as f:
                    f.write(text)
                refused = subprocess.run([harness.SENTRAIL, "run", "--config", config, "--brokers", broker.bootstrap,
                                          "--rules", os.path.join(harness.SOURCE, "rules/pack"), "--state",
                                          self.state, "--api-port", str(self.api_port), "--metrics-port", "0"],
                                         capture_output=True, text=True, timeout=30)
                self.assertEqual(refused.returncode, 2, refused.stderr)
                self.assertIn(cause, refused.stderr)

            harness.produce(broker.bootstrap, EVENTS)
            engine = self.start_engine(broker.bootstrap)
            try:
                base = f"http://127.0.0.1:{self.api_port}"
                admin = Api(base, self.tokens["admin"])
                harness.wait_for(lambda: engine.proc.poll() is not None or self.alert_total(admin) >= EXPECTED_ALERTS,
                                 timeout=45, what=f"{EXPECTED_ALERTS} alerts in the API")
                self.assertIsNone(engine.proc.poll(), engine.stderr())
                self.assertIn(f"triage API and console on http://127.0.0.1:{self.api_port}/", engine.stderr())
                status, headers, page = Api(base).raw("GET", "/")  # the console needs no token
                self.assertEqual(status, 200)
                self.assertIn(b"/console/app.js", page)
                self.assertIn("default-src 'self'", headers.get("Content-Security-Policy", ""))
                alerts = admin.get("/api/alerts", limit=500)["alerts"]
                self.assertEqual(len(alerts), EXPECTED_ALERTS, [a["rule_id"] for a in alerts])
                self.check_role_table(base, alerts)
                self.check_queue(admin, alerts)
                self.check_actions_and_errors(Api(base, self.tokens["analyst"]), admin, alerts)
                self.check_incidents(Api(base, self.tokens["analyst"]), admin, alerts)
                self.check_audit(admin)
                stats = Api(base, self.tokens["engineer"]).get("/api/rules/stats")["rules"]
                self.check_stats(stats)
                metrics = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).read()
                # A counter of verdicts given: the probe was closed as a false positive twice (reopened between).
                self.assertIn(b'sentrail_alert_verdicts_total{rule="sentrail-web-sensitive-path-probe",'
                              b'verdict="false_positive"} 2', metrics)
                self.assertIn(b'sentrail_alert_verdicts_total{rule="sentrail-insider-risk-employee",'
                              b'verdict="true_positive"} 1', metrics)
                self.assertRegex(metrics.decode(), r'sentrail_triage_actions_total\{action="close"\} \d+')
                status, headers, page = admin.raw("GET", "/", token="")
                self.assertEqual(status, 200)
                self.assertTrue(headers["Content-Type"].startswith("text/html"))
                before_restart = {a["id"]: (a["status"], a["verdict"], a["assignee"], a["incident_id"])
                                  for a in admin.get("/api/alerts", limit=500)["alerts"]}
                audit_before = admin.get("/api/audit", limit=500)["entries"]
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
                engine.cleanup()

            # The rule writers' view from the state directory, engine stopped.
            cli = subprocess.run([harness.SENTRAIL, "rules", "stats", "--state", self.state, "--json"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(cli.returncode, 0, cli.stderr)
            self.assertEqual(json.loads(cli.stdout)["rules"], stats)
            table = subprocess.run([harness.SENTRAIL, "rules", "stats", "--state", self.state],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(table.returncode, 0, table.stderr)
            first_row = table.stdout.splitlines()[1].split()
            self.assertEqual(first_row[0], stats[0]["rule_id"])  # most false positives first

            # Restart: the triage state is all still there (over HTTPS when we can make a certificate).
            tls = self.make_certificate()
            engine = self.start_engine(broker.bootstrap, tls)
            try:
                scheme = "https" if tls else "http"
                context = ssl.create_default_context(cafile=tls[0]) if tls else None
                admin = Api(f"{scheme}://127.0.0.1:{self.api_port}", self.tokens["admin"], context)
                harness.wait_for(lambda: engine.proc.poll() is not None or self.alert_total(admin) >= EXPECTED_ALERTS,
                                 timeout=30, what="the API after a restart")
                self.assertIsNone(engine.proc.poll(), engine.stderr())
                self.assertIn(f"triage API and console on {scheme}://127.0.0.1:{self.api_port}/", engine.stderr())
                after = {a["id"]: (a["status"], a["verdict"], a["assignee"], a["incident_id"])
                         for a in admin.get("/api/alerts", limit=500)["alerts"]}
                self.assertEqual(after, before_restart)
                self.assertEqual(admin.get("/api/audit", limit=500)["entries"], audit_before)
                self.assertEqual(admin.get("/api/whoami"), {"name": "admin-user", "role": "admin"})
                self.assertEqual(admin.call("GET", "/api/whoami", token="wrong")[0], 401)
                if tls:
                    # Plain HTTP is not served on the HTTPS port.
                    with self.assertRaises(Exception):
                        urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/api/health", timeout=5).read()
            finally:
                self.assertEqual(engine.stop(), 0, engine.stderr())
                engine.cleanup()

    @staticmethod
    def alert_total(api):
        try:
            return api.get("/api/alerts", limit=1)["total"]
        except (AssertionError, OSError, ValueError):
            return 0  # not listening yet

    def make_certificate(self):
        if not shutil.which("openssl"):
            print("openssl CLI not found: the restart runs over plain HTTP")
            return None
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                               "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                               "-addext", "subjectAltName=IP:127.0.0.1"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(made.returncode, 0, made.stderr)
        return cert, key

    # --- Every endpoint: no token 401, bad token 401, each role 200 or 403 by the table.
    def check_role_table(self, base, alerts):
        by_employee = {a["group"].get("retail.employee.id"): a for a in alerts if a["rule_id"] ==
                       "sentrail-badge-door-forced"}
        target = {f"E30{i}": by_employee[f"E30{i}"] for i in range(6)}
        for a in target.values():
            self.assertTrue(a["incident_id"], a)
        some = alerts[0]
        ack_alert = {"analyst": target["E300"], "engineer": target["E301"], "admin": target["E302"]}
        endpoints = [
            ("GET", lambda r: "/api/whoami", None, "viewer"),
            ("GET", lambda r: "/api/alerts?limit=5", None, "viewer"),
            ("GET", lambda r: f"/api/alerts/{some['id']}", None, "viewer"),
            ("POST", lambda r: f"/api/alerts/{ack_alert.get(r, some)['id']}/acknowledge", {}, "analyst"),
            ("POST", lambda r: f"/api/alerts/{target['E303']['id']}/assign", lambda r: {"assignee": r}, "analyst"),
            ("POST", lambda r: f"/api/alerts/{target['E303']['id']}/notes", lambda r: {"text": f"seen by {r}"},
             "analyst"),
            ("POST", lambda r: f"/api/alerts/{target['E304']['id']}/close", {"verdict": "benign"}, "analyst"),
            ("POST", lambda r: f"/api/alerts/{target['E304']['id']}/reopen", {}, "analyst"),
            ("GET", lambda r: "/api/incidents", None, "viewer"),
            ("GET", lambda r: f"/api/incidents/{some['incident_id']}", None, "viewer"),
            ("POST", lambda r: f"/api/incidents/{ack_alert.get(r, some)['incident_id']}/acknowledge", {}, "analyst"),
            ("POST", lambda r: f"/api/incidents/{target['E303']['incident_id']}/assign", lambda r: {"assignee": r}, "analyst"),
            ("POST", lambda r: f"/api/incidents/{target['E305']['incident_id']}/close", {"verdict": "benign"},
             "analyst"),
            ("POST", lambda r: f"/api/incidents/{target['E305']['incident_id']}/reopen", {}, "analyst"),
            ("POST", lambda r: f"/api/incidents/{target['E303']['incident_id']}/notes",
             lambda r: {"text": f"incident seen by {r}"}, "analyst"),
            ("GET", lambda r: "/api/audit", None, "admin"),
            ("GET", lambda r: "/api/rules/stats", None, "engineer"),
        ]
        anonymous = Api(base)
        self.assertEqual(anonymous.call("GET", "/api/health", token=""), (200, {"status": "ok"}))
        def body_for(body, role):
            return body(role) if callable(body) else body

        for method, path, body, need in endpoints:
            p = path("viewer")
            body = body_for(body, "viewer")
            status, answer = anonymous.call(method, p, body, token="")
            self.assertEqual(status, 401, f"{method} {p} without a token: {answer}")
            self.assertIn("error", answer)
            for bad in ("st_not-a-real-token", self.tokens["admin"] + "x", "Basic"):
                status, answer = anonymous.call(method, p, body, token=bad)
                self.assertEqual(status, 401, f"{method} {p} with a bad token: {answer}")
            # A token in another scheme is not a bearer token.
            status, _, _ = anonymous.raw(method, p, b"{}" if method == "POST" else None, token="",
                                         headers={"Authorization": "Basic " + self.tokens["admin"]})
            self.assertEqual(status, 401)
        # Role by role, in order, so the close/reopen pairs alternate.
        for role in ROLES:
            api = Api(base, self.tokens[role])
            for method, path, body, need in endpoints:
                p = path(role)
                status, answer = api.call(method, p, body_for(body, role))
                allowed = ROLES.index(role) >= ROLES.index(need)
                self.assertEqual(status, 200 if allowed else 403, f"{role}: {method} {p} -> {answer}")
                if not allowed:
                    self.assertIn(need, answer["error"])
        # What the allowed calls did.
        self.assertEqual(Api(base, self.tokens["viewer"]).get("/api/whoami"),
                         {"name": "viewer-user", "role": "viewer"})
        for employee in ("E300", "E301", "E302"):
            self.assertEqual(self.summary(base, target[employee]["id"])["status"], "acknowledged")
        e303 = Api(base, self.tokens["viewer"]).get(f"/api/alerts/{target['E303']['id']}")
        self.assertEqual(e303["alert"]["assignee"], "admin")
        self.assertEqual([n["author"] for n in e303["notes"]], ["analyst-user", "engineer-user", "admin-user"])
        e304 = self.summary(base, target["E304"]["id"])
        self.assertEqual((e304["status"], e304["verdict"]), ("acknowledged", None))
        # The incident's close closed its alert; its reopen leaves the alert closed.
        e305 = self.summary(base, target["E305"]["id"])
        self.assertEqual((e305["status"], e305["verdict"]), ("closed", "benign"))

    def summary(self, base, alert_id):
        return Api(base, self.tokens["viewer"]).get(f"/api/alerts/{alert_id}")["alert"]

    # --- The queue: filters, counts, paging, detail with evidence in time order.
    def check_queue(self, api, alerts):
        ids = [a["id"] for a in alerts]
        self.assertEqual(len(set(ids)), EXPECTED_ALERTS)
        self.assertEqual([a["last_seen"] for a in alerts], sorted((a["last_seen"] for a in alerts), reverse=True))
        for a in alerts:
            self.assertRegex(a["last_seen"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        seen, cursor, pages = [], None, 0
        while True:
            page = api.get("/api/alerts", limit=5, **({"cursor": cursor} if cursor else {}))
            self.assertEqual(page["total"], EXPECTED_ALERTS)
            seen += [a["id"] for a in page["alerts"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(seen, ids)

        badge = api.get("/api/alerts", channel="badge", limit=500)
        self.assertEqual({a["id"] for a in badge["alerts"]}, {a["id"] for a in alerts if "badge" in a["channels"]})
        e100 = api.get("/api/alerts", entity="E100")
        self.assertEqual(e100["total"], 3)
        self.assertEqual({a["channels"][0] for a in e100["alerts"]} | {c for a in e100["alerts"] for c in a["channels"]},
                         {"pos", "badge"})
        self.assertEqual(len({a["incident_id"] for a in e100["alerts"]}), 1)
        found = api.get("/api/alerts", q="AP@SUP3")["alerts"]
        self.assertEqual([a["group"] for a in found], [{"user.name": "ap@sup3"}])
        late = api.get("/api/alerts", **{"from": "2026-11-23T03:02:00Z", "limit": 500})
        self.assertEqual({a["id"] for a in late["alerts"]}, {a["id"] for a in alerts if a["last_seen"] >= "2026-11-23T03:02:00.000Z"})
        self.assertEqual(late["total"], 4)
        epoch_to = api.get("/api/alerts", to=str(1795402800000), limit=500)  # 2026-11-23T03:00:00Z in ms
        self.assertEqual({a["id"] for a in epoch_to["alerts"]},
                         {a["id"] for a in alerts if a["last_seen"] <= "2026-11-23T03:00:00.000Z"})
        high = api.get("/api/alerts", level="high", limit=500)
        self.assertEqual(high["counts"]["level"]["high"], high["total"])
        self.assertEqual(sum(high["counts"]["status"].values()), high["total"])
        self.assertEqual(sum(high["counts"]["level"].values()), EXPECTED_ALERTS)

        insider = next(a for a in alerts if a["rule_id"] == INSIDER_RULE)
        detail = api.get(f"/api/alerts/{insider['id']}")
        times = [e["time"] for e in detail["evidence"]]
        self.assertGreaterEqual(len(times), 3)
        self.assertEqual(times, sorted(times))
        self.assertEqual({e["channel"] for e in detail["evidence"]}, {"badge", "pos"})
        self.assertEqual(detail["detail"]["id"], insider["id"])
        self.assertEqual(detail["detail"]["status"], "new")  # the alert as raised
        for e in detail["evidence"]:
            self.assertNotIn(PAN_VISA, json.dumps(e))

    # --- An analyst's actions, the 409s and the 4xx for bad input.
    def check_actions_and_errors(self, analyst, admin, alerts):
        probe = next(a for a in alerts if a["rule_id"] == "sentrail-web-sensitive-path-probe")
        tor = next(a for a in alerts if a["rule_id"] == "sentrail-mobile-login-from-tor-exit")
        path = f"/api/alerts/{probe['id']}"
        self.assertIn(probe["id"], [a["id"] for a in analyst.get("/api/alerts", status="new", limit=500)["alerts"]])
        new_before = analyst.get("/api/alerts", status="new")["total"]

        acked = analyst.post(path + "/acknowledge", {"note": "looking at it"})
        self.assertEqual(acked["status"], "acknowledged")
        analyst.post(path + "/acknowledge", {}, expect=409)
        self.assertEqual(analyst.post(path + "/assign", {"assignee": "bob"})["assignee"], "bob")
        analyst.post(path + "/notes", {"text": "scanner from a known range"})
        closed = analyst.post(path + "/close", {"verdict": "false_positive", "note": "our own scanner"})
        self.assertEqual((closed["status"], closed["verdict"]), ("closed", "false_positive"))
        new_ids = [a["id"] for a in analyst.get("/api/alerts", status="new", limit=500)["alerts"]]
        self.assertNotIn(probe["id"], new_ids)
        self.assertEqual(analyst.get("/api/alerts", status="new")["total"], new_before - 1)
        closed_list = analyst.get("/api/alerts", status="closed,acknowledged", limit=500)["alerts"]
        self.assertIn(probe["id"], [a["id"] for a in closed_list])
        for again in ("/close", "/acknowledge", "/assign"):
            body = {"verdict": "benign"} if again == "/close" else {"assignee": "carol"} if again == "/assign" else {}
            status, answer = analyst.call("POST", path + again, body)
            self.assertEqual(status, 409, f"{again} on a closed alert: {answer}")
            self.assertIn("closed", answer["error"])
        reopened = analyst.post(path + "/reopen", {"note": "wrong call"})
        self.assertEqual((reopened["status"], reopened["verdict"]), ("acknowledged", None))
        analyst.post(path + "/reopen", {}, expect=409)
        analyst.post(path + "/close", {"verdict": "false_positive"})
        analyst.post(f"/api/alerts/{tor['id']}/close", {"verdict": "true_positive"})
        detail = analyst.get(path)
        self.assertEqual([n["text"] for n in detail["notes"]],
                         ["looking at it", "scanner from a known range", "our own scanner", "wrong call"])
        self.assertEqual([h["action"] for h in detail["history"]],
                         ["acknowledge", "assign", "note", "close", "reopen", "close"])
        reopen = detail["history"][4]
        self.assertEqual(reopen["before"], {"status": "closed", "verdict": "false_positive", "assignee": "bob"})
        self.assertEqual(reopen["after"], {"status": "acknowledged", "verdict": None, "assignee": "bob"})

        # Bad input: 400 with a cause; unknown objects: 404; a body over the limit: 413.
        cases = [
            ("POST", path + "/notes", b'{"text": "unterminated', "not valid JSON"),
            ("POST", path + "/notes", b"[1, 2]", "JSON object"),
            ("POST", path + "/notes", {"text": "x", "author": "mallory"}, "unknown field 'author'"),
            ("POST", f"/api/alerts/{tor['id']}/reopen", {"note": 7}, "must be a string"),
            ("POST", path + "/close", {"verdict": "probably_fine"}, "unknown verdict"),
            ("POST", path + "/assign", {"assignee": "bob smith; drop"}, "assignee"),
            ("POST", path + "/notes", {"text": "x" * 4001}, "4000"),
            ("GET", "/api/alerts?from=yesterday", None, "from must be"),
            ("GET", "/api/alerts?status=open", None, "unknown status"),
            ("GET", "/api/alerts?limit=0", None, "limit"),
            ("GET", "/api/alerts?limit=501", None, "limit"),
            ("GET", "/api/alerts?cursor=nonsense", None, "cursor"),
            ("GET", "/api/alerts?sort=asc", None, "unknown query parameter"),
            ("GET", "/api/incidents?status=new", None, "unknown incident status"),
        ]
        for method, p, body, cause in cases:
            status, answer = analyst.call(method, p, body)
            self.assertEqual(status, 400, f"{method} {p} {body!r:.60}: {answer}")
            self.assertIn(cause, answer["error"])
        for p in ("/api/alerts/0123456789abcdef0123456789abcdef", "/api/incidents/nope"):
            status, answer = analyst.call("GET", p)
            self.assertEqual(status, 404, answer)
            self.assertIn("error", answer)
        self.assertEqual(analyst.call("POST", "/api/alerts/nope/acknowledge", {})[0], 404)
        status, answer = analyst.call("POST", path + "/notes", {"text": "y" * 70000})
        self.assertEqual(status, 413, answer)
        self.assertIn("65536", answer["error"])
        self.assertEqual(analyst.get(path)["alert"]["status"], "closed")  # none of that changed anything

    # --- Incidents: E100's three alerts across channels, closed together.
    def check_incidents(self, analyst, admin, alerts):
        e100 = [a for a in alerts if a["group"].get("retail.employee.id") == "E100"]
        self.assertEqual(len(e100), 3)
        incident_id = e100[0]["incident_id"]
        listing = analyst.get("/api/incidents", limit=500)
        self.assertEqual(listing["total"], len({a["incident_id"] for a in alerts if a["incident_id"]}))
        incident = next(i for i in listing["incidents"] if i["id"] == incident_id)
        self.assertEqual(incident["alert_count"], 3)
        self.assertEqual(set(incident["channels"]), {"pos", "badge"})
        self.assertIn(INSIDER_RULE, incident["rules"])
        self.assertEqual(incident["status"], "open")
        detail = analyst.get(f"/api/incidents/{incident_id}")
        self.assertEqual({a["id"] for a in detail["alerts"]}, {a["id"] for a in e100})
        last_seen = [a["last_seen"] for a in detail["alerts"]]
        self.assertEqual(last_seen, sorted(last_seen))

        analyst.post(f"/api/incidents/{incident_id}/close", {}, expect=400)  # a verdict is required
        self.assertEqual(analyst.post(f"/api/incidents/{incident_id}/acknowledge", {})["status"], "acknowledged")
        analyst.post(f"/api/incidents/{incident_id}/acknowledge", {}, expect=409)
        closed = analyst.post(f"/api/incidents/{incident_id}/close",
                              {"verdict": "true_positive", "note": "refund fraud by E100"})
        self.assertEqual((closed["status"], closed["verdict"]), ("closed", "true_positive"))
        for a in e100:
            got = analyst.get(f"/api/alerts/{a['id']}")
            self.assertEqual((got["alert"]["status"], got["alert"]["verdict"]), ("closed", "true_positive"))
            self.assertIn(f"closed with incident {incident_id}", got["history"][-1]["note"])
        analyst.post(f"/api/incidents/{incident_id}/close", {"verdict": "benign"}, expect=409)
        closed_only = analyst.get("/api/incidents", status="closed")
        self.assertEqual(closed_only["total"], 1)
        # The tabs' counts cover every status whatever the filter, and add up to all incidents.
        counts = closed_only["counts"]["status"]
        self.assertEqual(counts["closed"], 1)
        self.assertEqual(sum(counts.values()), listing["total"])
        self.assertEqual(counts["open"] + counts["acknowledged"],
                         analyst.get("/api/incidents", status="open,acknowledged")["total"])
        noted = analyst.post(f"/api/incidents/{incident_id}/notes", {"text": "chargebacks filed"})
        self.assertEqual(noted["status"], "closed")  # a note changes no state, even on a closed incident
        analyst.post(f"/api/incidents/{incident_id}/notes", {"text": ""}, expect=400)
        history = analyst.get(f"/api/incidents/{incident_id}")["history"]
        self.assertEqual([h["action"] for h in history], ["acknowledge", "close", "note"])
        self.assertEqual(history[-1]["note"], "chargebacks filed")

    def check_audit(self, admin):
        entries, cursor = [], None
        while True:
            page = admin.get("/api/audit", limit=7, **({"cursor": cursor} if cursor else {}))
            entries += page["entries"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual([e["time"] for e in entries], sorted((e["time"] for e in entries), reverse=True))
        fp = [e for e in entries if e["action"] == "close" and e["after"]["verdict"] == "false_positive"]
        self.assertEqual(len(fp), 2)
        for e in fp:
            self.assertEqual((e["actor"], e["role"], e["object_type"]), ("analyst-user", "analyst", "alert"))
            self.assertEqual(e["before"]["status"], "acknowledged")
            self.assertEqual(e["after"]["status"], "closed")
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        by_object = admin.get("/api/audit", object=fp[0]["object_id"], limit=500)["entries"]
        self.assertEqual({e["object_id"] for e in by_object}, {fp[0]["object_id"]})
        self.assertEqual(len(by_object), 6)
        self.assertTrue(any(e["object_type"] == "incident" for e in entries))

    def check_stats(self, stats):
        by_rule = {r["rule_id"]: r for r in stats}
        self.assertEqual(sum(r["alerts"] for r in stats), EXPECTED_ALERTS)
        probe = by_rule["sentrail-web-sensitive-path-probe"]
        self.assertEqual((probe["false_positive"], probe["true_positive"], probe["open"]), (1, 0, 0))
        self.assertEqual(probe["precision"], 0)
        self.assertEqual(by_rule["sentrail-mobile-login-from-tor-exit"]["precision"], 1)
        self.assertEqual(by_rule[INSIDER_RULE]["true_positive"], 1)
        doors = by_rule["sentrail-badge-door-forced"]
        self.assertEqual((doors["alerts"], doors["true_positive"], doors["benign"], doors["open"]), (7, 1, 1, 5))
        self.assertIsNone(by_rule["sentrail-supplier-bank-details-change"]["precision"])
        self.assertEqual(stats[0]["rule_id"], "sentrail-web-sensitive-path-probe")  # most false positives first
        fps = [r["false_positive"] for r in stats]
        self.assertEqual(fps, sorted(fps, reverse=True))


if __name__ == "__main__":
    unittest.main(verbosity=2)
