"""The web console end to end: a real `sentrail run` with its triage API and
embedded console, fed by the embedded broker with events that raise known
alerts (one of them from two channels), driven by headless Chromium through
Selenium. An analyst signs in with a token, reads the queue and its counts,
filters it, opens the multi-channel alert and its evidence timeline, closes it
with a verdict and a note and sees it leave the `new` queue; the incident view
lists what the API lists; a viewer is offered no action and a forced one is
refused with a readable message. Every check compares the page with a direct
API call, and a screenshot is saved at each step (the folder is printed)."""
import hashlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


for tool in (CHROMIUM, CHROMEDRIVER):
    if not os.access(tool, os.X_OK):
        skip(f"{tool} is not installed (Debian packages chromium and chromium-driver)")
try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as e:  # pragma: no cover
    skip(f"python3-selenium is not installed ({e})")

sys.path.insert(0, os.path.dirname(__file__))
import fixtures  # noqa: E402
import harness  # noqa: E402  (skips itself when confluent_kafka is absent)

TS = harness.TRIAGE_TS
PAN_VISA = harness.PAN_VISA
EVENTS = harness.TRIAGE_EVENTS

MULTI_CHANNEL_RULE = "sentrail-insider-risk-employee"
EXPECTED_RULES = {
    "sentrail-web-sensitive-path-probe", "sentrail-mobile-login-from-tor-exit",
    "sentrail-pos-manual-entry-high-value", "sentrail-supplier-bank-details-change",
    "sentrail-supplier-bulk-export-large", "sentrail-badge-door-forced", MULTI_CHANNEL_RULE,
}
WAIT = 20  # seconds an explicit wait may take before the step fails


def money(le):
    """The console's rendering of a loss exposure (en-US currency, no cents)."""
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(le["currency"], le["currency"] + " ")
    fmt = lambda n: f"{symbol}{round(n):,}"  # noqa: E731
    return fmt(le["high"]) if le["low"] == le["high"] else f"{fmt(le['low'])} – {fmt(le['high'])}"


class Api:
    """Direct calls to the triage API, the oracle the page is compared with."""

    def __init__(self, base, token):
        self.base = base
        self.token = token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def get(self, path, **query):
        status, body = self.call("GET", path + ("?" + urllib.parse.urlencode(query) if query else ""))
        if status != 200:
            raise AssertionError(f"GET {path} {query} -> {status} {body}")
        return body


class Console:
    """The browser side: one headless Chromium and the steps an analyst takes."""

    def __init__(self, base, shots):
        self.base = base
        self.shots = shots
        self.step = 0
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1500,1000", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run"):
            options.add_argument(arg)
        self.profile = tempfile.mkdtemp(prefix="sentrail-console-chromium-")
        options.add_argument("--user-data-dir=" + self.profile)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.wait = WebDriverWait(self.driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))

    def quit(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def shot(self, name):
        self.step += 1
        path = os.path.join(self.shots, f"{self.step:02d}-{name}.png")
        self.driver.save_screenshot(path)

    def until(self, predicate, what):
        return self.wait.until(lambda d: predicate(), message=f"timed out waiting for {what}")

    def css(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector):
        return self.wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, selector)),
                               message=f"timed out waiting for {selector}")

    def view(self, name, hash_prefix=None):
        """Waits until the view `name` has rendered (for a hash starting with hash_prefix)."""
        def ready():
            if hash_prefix and not self.driver.execute_script("return location.hash").startswith(hash_prefix):
                return False
            return bool(self.css(f'section[data-view="{name}"][data-ready="true"]'))
        self.until(ready, f"the {name} view")

    def open(self, hash_):
        self.driver.get(self.base + "/" + hash_)

    def go(self, hash_):
        self.driver.execute_script("location.hash = arguments[0]", hash_)

    def sign_in(self, token):
        self.view("login")
        box = self.one("#token")
        box.clear()
        box.send_keys(token)
        self.one("#login-submit").click()

    def flash(self, kind, expect):
        """Waits for a `kind` message containing `expect` (an earlier message may still show)."""
        def text():
            box = self.css(f'#flash[data-kind="{kind}"] .flash-text')
            return box and box[0].is_displayed() and expect in box[0].text
        self.until(text, f"a {kind} message saying {expect!r}")

    def queue_ids(self):
        return [row.get_attribute("data-alert-id") for row in self.css("table.queue tbody tr[data-alert-id]")]

    def tab_count(self, tab):
        return int(self.one(f'.tabs [data-tab="{tab}"] .count').text)


class ConsoleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sentrail-console-")
        self.shots = os.environ.get("SENTRAIL_ARTIFACTS") or tempfile.mkdtemp(prefix="sentrail-console-shots-")
        self.shots = os.path.join(self.shots, "console") if os.environ.get("SENTRAIL_ARTIFACTS") else self.shots
        shutil.rmtree(self.shots, ignore_errors=True)
        os.makedirs(self.shots)
        print(f"screenshots: {self.shots}", flush=True)
        self.tokens = {"alice": ("analyst", secrets.token_hex(24)), "victor": ("viewer", secrets.token_hex(24))}
        tokens_file = os.path.join(self.tmp, "tokens.yaml")
        with open(tokens_file, "w") as f:
            f.write("tokens:\n")
            for name, (role, token) in self.tokens.items():
                f.write(f"  - {{name: {name}, role: {role}, sha256: {hashlib.sha256(token.encode()).hexdigest()}}}\n")
        self.config = os.path.join(self.tmp, "sentrail.yaml")
        with open(self.config, "w") as f:
            f.write("kafka:\n  properties:\n    session.timeout.ms: '6000'\n"
                    "correlation:\n  idle_timeout: 1s\n"
                    f"api:\n  tokens_file: {tokens_file}\n")
        self.port = fixtures.free_port()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_analyst_triages_an_alert_and_a_viewer_cannot(self):
        with harness.Broker(partitions=2) as broker:
            harness.produce(broker.bootstrap, EVENTS)
            engine = harness.Engine(broker.bootstrap, os.path.join(self.tmp, "state"),
                                    extra=["--config", self.config, "--api-port", str(self.port)])
            try:
                base = f"http://127.0.0.1:{self.port}"
                analyst = Api(base, self.tokens["alice"][1])
                harness.wait_for(lambda: self._rules_raised(analyst) >= EXPECTED_RULES, timeout=60,
                                 what="every expected alert in the API")
                console = Console(base, self.shots)
                try:
                    self.drive(console, analyst, Api(base, self.tokens["victor"][1]))
                except BaseException:
                    console.shot("failure")
                    raise
                finally:
                    console.quit()
            finally:
                code = engine.stop()
                stderr = engine.stderr()
                engine.cleanup()
            self.assertEqual(code, 0, stderr)

    @staticmethod
    def _rules_raised(api):
        try:
            return {a["rule_id"] for a in api.get("/api/alerts", limit=500)["alerts"]}
        except (AssertionError, OSError):
            return set()  # the API is not listening yet

    def drive(self, c, analyst, viewer):
        # --- Sign in: a wrong token is refused with a message, the right one gets in.
        c.open("#/alerts")
        c.view("login")
        c.shot("login")
        c.sign_in("not-a-token")
        c.flash("error", "not accepted")
        c.sign_in(self.tokens["alice"][1])
        c.view("queue")
        self.assertEqual(c.one('[data-testid="whoami"]').text, "alice (analyst)")
        self.assertEqual(c.driver.execute_script("return sessionStorage.getItem('sentrail.token')"),
                         self.tokens["alice"][1])

        # --- The queue: new alerts newest first, tab and level counts as the API says.
        expected = analyst.get("/api/alerts", status="new", limit=50)
        self.assertGreaterEqual(len(expected["alerts"]), len(EXPECTED_RULES))
        c.until(lambda: c.queue_ids() == [a["id"] for a in expected["alerts"]], "the new queue as the API lists it")
        for status, n in expected["counts"]["status"].items():
            self.assertEqual(c.tab_count(status), n, f"{status} tab count")
        self.assertEqual(c.tab_count("all"), sum(expected["counts"]["status"].values()))
        for level, n in expected["counts"]["level"].items():
            chip = c.one(f'[data-level-chip="{level}"] .count')
            self.assertEqual(int(chip.text), n, f"{level} chip count")
        last_seen = [a["last_seen"] for a in expected["alerts"]]
        self.assertEqual(last_seen, sorted(last_seen, reverse=True), "newest first")
        c.shot("queue-new")

        # --- Filter by level: the rows become exactly the API's answer.
        high = analyst.get("/api/alerts", status="new", level="high")
        self.assertTrue(0 < len(high["alerts"]) < len(expected["alerts"]), "the level filter must narrow the queue")
        Select(c.one('.filters select[name="level"]')).select_by_value("high")
        c.view("queue", "#/alerts?status=new&level=high")
        c.until(lambda: c.queue_ids() == [a["id"] for a in high["alerts"]], "the high-level rows")
        self.assertTrue(all(r.get_attribute("data-level") == "high" for r in c.css("table.queue tbody tr[data-alert-id]")))
        c.shot("filter-level-high")

        # --- Free-text search, on top of a clear filter set.
        c.one('.filters a.button').click()  # Clear
        c.until(lambda: c.queue_ids() == [a["id"] for a in expected["alerts"]], "the unfiltered queue again")
        tor = analyst.get("/api/alerts", status="new", q="TOR EXIT")
        self.assertEqual(len(tor["alerts"]), 1)
        box = c.one('.filters input[name="q"]')
        box.send_keys("TOR EXIT")
        c.one('[data-testid="apply-filters"]').click()
        c.view("queue", "#/alerts?status=new&q=")
        c.until(lambda: c.queue_ids() == [a["id"] for a in tor["alerts"]], "the text-filtered rows")
        c.shot("filter-text")

        # --- Channel and time range (UTC) filters.
        badge = analyst.get("/api/alerts", status="new", channel="badge")
        self.assertTrue(0 < len(badge["alerts"]) < len(expected["alerts"]))
        c.go("#/alerts?status=new")
        c.until(lambda: c.queue_ids() == [a["id"] for a in expected["alerts"]], "the new queue")
        Select(c.one('.filters select[name="channel"]')).select_by_value("badge")
        c.view("queue", "#/alerts?status=new&channel=badge")
        c.until(lambda: c.queue_ids() == [a["id"] for a in badge["alerts"]], "the badge-channel rows")
        since = analyst.get("/api/alerts", status="new", **{"from": "2026-11-23T02:50:00Z"})
        self.assertTrue(0 < len(since["alerts"]) < len(expected["alerts"]), "the time filter must narrow the queue")
        c.go("#/alerts?status=new")
        c.until(lambda: c.queue_ids() == [a["id"] for a in expected["alerts"]], "the new queue")
        c.driver.execute_script("document.querySelector('.filters input[name=\"from\"]').value = arguments[0]",
                                "2026-11-23T02:50:00")
        c.one('[data-testid="apply-filters"]').click()
        c.view("queue", "#/alerts?status=new&from=2026-11-23T02%3A50%3A00Z")
        c.until(lambda: c.queue_ids() == [a["id"] for a in since["alerts"]], "the rows since 02:50 UTC")
        c.shot("filter-time")

        # --- Paging with the API's cursors: three a page, older, then newer again.
        page1 = analyst.get("/api/alerts", limit=3)
        page2 = analyst.get("/api/alerts", limit=3, cursor=page1["next_cursor"])
        c.go("#/alerts?status=all&limit=3")
        c.until(lambda: c.queue_ids() == [a["id"] for a in page1["alerts"]], "the first page")
        c.one('[data-testid="next-page"]').click()
        c.until(lambda: c.queue_ids() == [a["id"] for a in page2["alerts"]], "the second page")
        self.assertTrue(c.one('[data-testid="page-info"]').text.startswith("Page 2 · 4–"))
        c.shot("page-2")
        c.one('[data-testid="prev-page"]').click()
        c.until(lambda: c.queue_ids() == [a["id"] for a in page1["alerts"]], "the first page again")

        # --- An entity value links to every alert on that entity.
        on_e100 = analyst.get("/api/alerts", entity="E100")
        self.assertGreaterEqual(len(on_e100["alerts"]), 2)
        c.go("#/alerts?status=new")
        c.until(lambda: c.queue_ids() == [a["id"] for a in expected["alerts"]], "the new queue")
        c.driver.find_element(By.XPATH, '//table[contains(@class,"queue")]//a[text()="E100"]').click()
        c.view("queue", "#/alerts?status=all&entity=E100")
        c.until(lambda: c.queue_ids() == [a["id"] for a in on_e100["alerts"]], "E100's alerts")

        # --- Open the multi-channel alert from the queue.
        multi = next(a for a in expected["alerts"] if a["rule_id"] == MULTI_CHANNEL_RULE)
        c.go("#/alerts?status=new")
        c.until(lambda: multi["id"] in c.queue_ids(), "the multi-channel alert in the queue")
        # From the keyboard: j down to its row, Enter opens it.
        body = c.one("body")
        for _ in range(c.queue_ids().index(multi["id"]) + 1):
            body.send_keys("j")
        c.until(lambda: [r.get_attribute("data-alert-id") for r in c.css("tr.row.selected")] == [multi["id"]],
                "its row selected")
        body.send_keys(Keys.ENTER)
        c.view("alert", "#/alerts/" + multi["id"])
        detail = analyst.get("/api/alerts/" + multi["id"])
        self.assertEqual(c.one('[data-testid="alert-title"]').text, multi["rule_title"])

        # Evidence timeline: time order, both channels, the same events as the API.
        rows = c.css('[data-testid="evidence"] tbody tr')
        times = [r.get_attribute("data-time") for r in rows]
        channels = [r.get_attribute("data-channel") for r in rows]
        self.assertEqual(times, sorted(times), "evidence in time order")
        self.assertEqual(set(channels), {"badge", "pos"}, "both channels in the timeline")
        self.assertEqual(list(zip(times, channels)), [(e["time"], e["channel"]) for e in detail["evidence"]])
        api_times = [e["time"] for e in detail["evidence"]]
        self.assertEqual(api_times, sorted(api_times), "the API merges evidence in time order")
        self.assertIn("refund", rows[-1].text)
        # Loss exposure in money.
        self.assertIsNotNone(multi["loss_exposure"])
        self.assertEqual(c.one('[data-testid="loss-exposure"]').text, money(multi["loss_exposure"]))
        c.shot("alert-multi-channel")

        # --- Close it with a verdict and a note.
        note = "Refunds to a keyed card after a refused stock-room swipe; escalated to loss prevention."
        c.until(lambda: not c.one('[data-action="close"]').get_attribute("disabled"), "the close button")
        self.assertTrue(c.one('[data-action="reopen"]').get_attribute("disabled"), "reopen is not offered on a new alert")
        Select(c.one('select[name="verdict"]')).select_by_value("true_positive")
        c.one('textarea[name="close-note"]').send_keys(note)
        c.one('[data-action="close"]').click()
        c.flash("success", "closed as true positive")
        c.view("alert", "#/alerts/" + multi["id"])
        c.until(lambda: c.one('.facts [data-status]').get_attribute("data-status") == "closed", "the closed status")
        self.assertEqual(c.one('[data-testid="verdict"]').text, "True positive")
        self.assertTrue(c.one('[data-action="close"]').get_attribute("disabled"))
        self.assertFalse(c.one('[data-action="reopen"]').get_attribute("disabled"))
        history = c.one('[data-testid="history"]').text
        self.assertIn("close", history)
        self.assertIn(note, history)
        after = analyst.get("/api/alerts/" + multi["id"])
        self.assertEqual((after["alert"]["status"], after["alert"]["verdict"]), ("closed", "true_positive"))
        self.assertTrue(any(e.get("note") == note for e in after["history"]) or
                        any(n["text"] == note for n in after["notes"]), "the note is kept")
        c.shot("alert-closed")

        # --- Back to the queue: gone from `new`, one fewer there, present under `closed`.
        c.one('[data-testid="back-to-queue"]').click()
        c.view("queue", "#/alerts?status=new")
        now_new = analyst.get("/api/alerts", status="new", limit=50)
        c.until(lambda: c.queue_ids() == [a["id"] for a in now_new["alerts"]], "the new queue after closing")
        self.assertNotIn(multi["id"], c.queue_ids())
        self.assertEqual(c.tab_count("new"), expected["counts"]["status"]["new"] - 1)
        self.assertEqual(c.tab_count("closed"), expected["counts"]["status"]["closed"] + 1)
        c.shot("queue-after-close")
        c.one('.tabs [data-tab="closed"]').click()
        c.view("queue", "#/alerts?status=closed")
        c.until(lambda: multi["id"] in c.queue_ids(), "the alert under closed")
        closed_row = c.one(f'tr[data-alert-id="{multi["id"]}"]')
        self.assertEqual(closed_row.get_attribute("data-status"), "closed")
        self.assertIn("True positive", closed_row.text)
        c.shot("queue-closed")

        # --- Acknowledge another alert with a note, then assign it to myself.
        tor_id = tor["alerts"][0]["id"]
        c.go("#/alerts/" + tor_id)
        c.view("alert", "#/alerts/" + tor_id)
        c.one('input[name="ack-note"]').send_keys("looking at the customer's recent logins")
        c.one('[data-action="acknowledge"]').click()
        c.flash("success", "acknowledged")
        c.until(lambda: c.one('.facts [data-status]').get_attribute("data-status") == "acknowledged", "acknowledged")
        self.assertTrue(c.one('[data-action="acknowledge"]').get_attribute("disabled"))
        c.one('[data-action="assign-me"]').click()
        c.flash("success", "assigned to alice")
        tor_now = analyst.get("/api/alerts/" + tor_id)["alert"]
        self.assertEqual((tor_now["status"], tor_now["assignee"]), ("acknowledged", "alice"))
        c.shot("alert-acknowledged-assigned")

        # --- Incidents: the list and one incident's alerts, as the API has them.
        incidents = analyst.get("/api/incidents", limit=50)
        c.one('[data-nav="incidents"]').click()
        c.view("incidents", "#/incidents")
        open_incidents = analyst.get("/api/incidents", status="open", limit=50)
        c.until(lambda: [r.get_attribute("data-incident-id") for r in c.css("tr[data-incident-id]")] ==
                [i["id"] for i in open_incidents["incidents"]], "the open incidents as the API lists them")
        c.until(lambda: {s: c.one(f'.tabs [data-count="{s}"]').text for s in ("open", "acknowledged", "closed")} ==
                {s: str(n) for s, n in open_incidents["counts"]["status"].items()}, "the incident tabs' counts")
        c.one('.tabs [data-tab="all"]').click()
        c.view("incidents", "#/incidents?status=all")
        c.until(lambda: [r.get_attribute("data-incident-id") for r in c.css("tr[data-incident-id]")] ==
                [i["id"] for i in incidents["incidents"]], "every incident")
        c.shot("incidents")
        if multi["incident_id"]:
            inc = analyst.get("/api/incidents/" + multi["incident_id"])
            self.assertGreaterEqual(len(inc["alerts"]), 2, "E100's alerts share one incident")
            c.one(f'tr[data-incident-id="{multi["incident_id"]}"] a').click()
            c.view("incident", "#/incidents/" + multi["incident_id"])
            ids = [r.get_attribute("data-alert-id") for r in c.css('[data-testid="incident-alerts"] tbody tr')]
            self.assertEqual(ids, [a["id"] for a in inc["alerts"]])
            self.assertIn(multi["id"], ids)
            c.one('[data-action="assign-me"]').click()
            c.flash("success", "Incident assigned to alice")
            self.assertEqual(analyst.get("/api/incidents/" + multi["incident_id"])["incident"]["assignee"], "alice")
            c.one('[data-testid="notes"] textarea[name="note"]').send_keys("same register as last month's voids")
            c.one('[data-testid="notes"] [data-action="notes"]').click()
            c.flash("success", "Note added")
            c.until(lambda: "same register as last month's voids" in c.one('[data-testid="notes"]').text,
                    "the incident note on the page")
            notes = [e["note"] for e in analyst.get("/api/incidents/" + multi["incident_id"])["history"]
                     if e["action"] == "note"]
            self.assertEqual(notes, ["same register as last month's voids"])
            c.shot("incident")
        else:
            self.fail(f"the multi-channel alert has no incident: {multi}")

        # --- A 401 (token revoked, expired, mistyped) goes back to the login page.
        c.driver.execute_script("sessionStorage.setItem('sentrail.token', 'revoked')")
        c.go("#/alerts?status=closed")
        c.view("login")
        c.flash("error", "Sign in again")
        self.assertIsNone(c.driver.execute_script("return sessionStorage.getItem('sentrail.token')"))

        # --- A viewer reads the same alert but is offered no action.
        c.sign_in(self.tokens["victor"][1])
        c.view("queue")
        c.go("#/alerts/" + multi["id"])
        c.view("alert", "#/alerts/" + multi["id"])
        self.assertIn("victor", c.one('[data-testid="role-notice"]').text)
        buttons = c.css('button[data-action]')
        self.assertGreaterEqual(len(buttons), 5)
        self.assertEqual([b.get_attribute("data-action") for b in buttons if b.is_enabled()], [],
                         "no action enabled for a viewer")
        c.shot("viewer-alert")
        # Were one forced, the engine refuses it and the console says why.
        self.assertEqual(viewer.call("POST", f"/api/alerts/{multi['id']}/reopen", {})[0], 403)
        c.driver.execute_script("document.querySelector('[data-action=\"reopen\"]').disabled = false")
        c.one('[data-action="reopen"]').click()
        c.flash("error", "Your role (viewer) cannot reopen this alert")
        self.assertEqual(analyst.get("/api/alerts/" + multi["id"])["alert"]["status"], "closed")
        c.shot("viewer-refused")


if __name__ == "__main__":
    unittest.main(verbosity=2)
