// Sentrail web console: the alert queue, alert and incident pages and triage
// actions over the engine's triage API (/api, docs/console.md). Plain browser
// JavaScript, no framework and no build step, so the engine can embed and
// serve these files as they are.
//
// Every value that comes from the API (and so, through evidence fields, from
// the outside world) reaches the page through textContent or an attribute,
// never through innerHTML: a user agent or a user name cannot inject markup.
"use strict";

(() => {
  const TOKEN_KEY = "sentrail.token";
  const LEVELS = ["critical", "high", "medium", "low", "informational"];
  const ALERT_STATUSES = ["new", "acknowledged", "closed"];
  const INCIDENT_STATUSES = ["open", "acknowledged", "closed"];
  const VERDICTS = [
    ["true_positive", "True positive"],
    ["false_positive", "False positive"],
    ["benign", "Benign (real, but expected)"],
  ];
  const CHANNELS = ["web", "mobile", "pos", "supplier", "badge"];
  const ROLE_RANK = { viewer: 0, analyst: 1, engineer: 2, admin: 3 };
  const PAGE_SIZES = [25, 50, 100, 200];
  const ASSIGNEE_PATTERN = "[A-Za-z0-9._@\\-]{1,64}";
  // Fields an analyst reads first in an evidence row; the rest follow by name.
  const KEY_FIELDS = [
    "event.action", "event.outcome", "user.name", "user.id", "retail.employee.id",
    "retail.supplier.id", "retail.badge.id", "retail.door.id", "retail.site.id",
    "retail.store.id", "retail.register.id", "retail.transaction.id", "device.id",
    "source.ip", "http.request.method", "url.path", "http.response.status_code",
    "retail.amount", "retail.currency", "retail.card.last4", "card_entry", "records",
  ];
  // What a 403 on each action means, in the analyst's words.
  const ACTION_WORDS = {
    acknowledge: "acknowledge", assign: "assign", close: "close", reopen: "reopen", notes: "add notes to",
  };

  const app = document.getElementById("app");
  const flashBox = document.getElementById("flash");

  let me = null; // {name, role} once the token is accepted
  let renderSeq = 0; // a slow response never overwrites a newer view
  let pendingFlash = null; // shown after the next view renders
  let lastQueueHash = "#/alerts?status=new";
  let lastIncidentsHash = "#/incidents?status=open";
  // Cursor trail for "Previous page": cursors are opaque and forward-only.
  const trails = { alerts: { key: null, cursors: [] }, incidents: { key: null, cursors: [] } };

  // ---------------------------------------------------------------- DOM helpers

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k === "dataset") Object.assign(el.dataset, v);
        else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
        else if (v === true) el.setAttribute(k, "");
        else el.setAttribute(k, String(v));
      }
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  function flash(kind, message) {
    flashBox.replaceChildren(
      h("span", { class: "flash-text", text: message }),
      h("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: clearFlash }, "×"),
    );
    flashBox.className = "flash flash-" + kind;
    flashBox.dataset.kind = kind;
    flashBox.hidden = false;
  }

  function clearFlash() {
    flashBox.hidden = true;
    flashBox.replaceChildren();
    delete flashBox.dataset.kind;
  }

  // ------------------------------------------------------------------ formatting

  function fmtTime(t) {
    if (!t) return "—";
    // RFC 3339 UTC from the API: shown as is, without the T, so every analyst
    // reads the same clock whatever their browser's time zone.
    return String(t).replace("T", " ").replace(/Z$/, " UTC");
  }

  function money(le) {
    if (!le) return "—";
    const fmt = (n) => {
      try {
        return new Intl.NumberFormat("en-US", {
          style: "currency", currency: le.currency || "USD", maximumFractionDigits: 0,
        }).format(n);
      } catch (e) {
        return `${n} ${le.currency || ""}`.trim();
      }
    };
    return le.low === le.high ? fmt(le.high) : `${fmt(le.low)} – ${fmt(le.high)}`;
  }

  function label(s) {
    return String(s || "").replace(/_/g, " ");
  }

  function verdictLabel(v) {
    const found = VERDICTS.find(([id]) => id === v);
    return found ? found[1] : label(v);
  }

  function levelBadge(level) {
    return h("span", { class: "level level-" + (level || "unknown"), dataset: { level: level || "" } }, level || "?");
  }

  function statusBadge(status) {
    return h("span", { class: "status status-" + status, dataset: { status } }, label(status));
  }

  function channelChips(channels) {
    return (channels || []).map((c) => h("span", { class: "chip channel channel-" + c, dataset: { channel: c } }, c));
  }

  function fieldValue(v) {
    if (v === null || v === undefined) return "";
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  }

  function highestLevel(levels) {
    return LEVELS.find((l) => levels && levels[l] > 0) || "informational";
  }

  function canTriage() {
    return me && ROLE_RANK[me.role] >= ROLE_RANK.analyst;
  }

  // ----------------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let resp;
    try {
      resp = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, "the engine cannot be reached (" + e.message + ")");
    }
    const text = await resp.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        if (resp.ok) throw new ApiError(resp.status, "the engine sent a response that is not JSON");
      }
    }
    if (!resp.ok) {
      const cause = data && data.error ? data.error : `HTTP ${resp.status} ${resp.statusText}`.trim();
      throw new ApiError(resp.status, cause);
    }
    return data;
  }

  // One place decides what an error means to the analyst. Returns the message
  // shown (none for a 401, which goes back to the login page).
  function reportError(err, doing) {
    if (err instanceof ApiError && err.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      me = null;
      pendingFlash = ["error", `Your session is no longer valid (${err.message}). Sign in again.`];
      const next = location.hash.startsWith("#/login") ? "" : location.hash;
      go("#/login" + (next ? "?next=" + encodeURIComponent(next) : ""));
      return null;
    }
    let message;
    if (err instanceof ApiError && err.status === 403) {
      message = `Your role (${me ? me.role : "unknown"}) cannot ${doing}: ${err.message}`;
    } else if (err instanceof ApiError && err.status === 409) {
      message = `Cannot ${doing} now: ${err.message}. The view shows the current state.`;
    } else if (err instanceof ApiError && err.status === 404) {
      message = `Not found: ${err.message}`;
    } else {
      const code = err instanceof ApiError && err.status ? ` (HTTP ${err.status})` : "";
      message = `Could not ${doing}: ${err.message}${code}`;
    }
    flash("error", message);
    return ["error", message];
  }

  // --------------------------------------------------------------------- router

  function parseHash() {
    const raw = location.hash.replace(/^#/, "") || "/alerts";
    const qAt = raw.indexOf("?");
    const path = qAt < 0 ? raw : raw.slice(0, qAt);
    const params = new URLSearchParams(qAt < 0 ? "" : raw.slice(qAt + 1));
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    return { parts, params };
  }

  function hashFor(path, params) {
    const clean = new URLSearchParams();
    for (const [k, v] of params) if (v !== "" && v !== null && v !== undefined) clean.append(k, v);
    const qs = clean.toString();
    return "#" + path + (qs ? "?" + qs : "");
  }

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function setNav(active) {
    document.getElementById("nav").hidden = !me;
    document.getElementById("who").hidden = !me;
    document.getElementById("who-name").textContent = me ? `${me.name} (${me.role})` : "";
    for (const a of document.querySelectorAll("[data-nav]")) {
      a.classList.toggle("active", a.dataset.nav === active);
      if (a.dataset.nav === "alerts") a.setAttribute("href", lastQueueHash);
      if (a.dataset.nav === "incidents") a.setAttribute("href", lastIncidentsHash);
    }
  }

  function show(view, ...content) {
    const root = h("section", { class: "view view-" + view, dataset: { view } }, ...content);
    app.replaceChildren(root);
    if (pendingFlash) {
      flash(...pendingFlash);
      pendingFlash = null;
    }
    root.dataset.ready = "true"; // tests wait for this, not for time
    return root;
  }

  function loading(view) {
    app.replaceChildren(h("section", { class: "view view-" + view, dataset: { view, loading: "true" } },
      h("p", { class: "muted" }, "Loading…")));
  }

  async function route() {
    const seq = ++renderSeq;
    const { parts, params } = parseHash();
    if (!pendingFlash) clearFlash();
    if (parts[0] === "login") return renderLogin(params.get("next") || "");
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      const next = location.hash && !location.hash.startsWith("#/login") ? location.hash : "";
      location.hash = "#/login" + (next ? "?next=" + encodeURIComponent(next) : "");
      return;
    }
    try {
      if (!me) me = await api("GET", "/api/whoami");
    } catch (err) {
      return reportError(err, "check who you are");
    }
    if (seq !== renderSeq) return;
    const isCurrent = () => seq === renderSeq;
    try {
      if ((parts[0] || "alerts") === "alerts" && parts.length <= 1) {
        setNav("alerts");
        return await renderQueue(params, isCurrent);
      }
      if (parts[0] === "alerts" && parts.length === 2) {
        setNav("alerts");
        return await renderAlert(parts[1], isCurrent);
      }
      if (parts[0] === "incidents" && parts.length <= 1) {
        setNav("incidents");
        return await renderIncidents(params, isCurrent);
      }
      if (parts[0] === "incidents" && parts.length === 2) {
        setNav("incidents");
        return await renderIncident(parts[1], isCurrent);
      }
    } catch (err) {
      if (!isCurrent()) return;
      show("error", h("h1", {}, "Something went wrong"),
        h("p", {}, h("a", { href: lastQueueHash }, "Back to the alert queue")));
      return reportError(err, "load this page");
    }
    setNav("");
    show("notfound", h("h1", {}, "No such page"),
      h("p", {}, "The console has alerts and incidents: ",
        h("a", { href: "#/alerts" }, "alert queue"), ", ", h("a", { href: "#/incidents" }, "incidents"), "."));
  }

  // ---------------------------------------------------------------------- login

  function renderLogin(next) {
    setNav("");
    me = null;
    const input = h("input", {
      id: "token", name: "token", type: "password", autocomplete: "off", required: true,
      placeholder: "Paste your API token", "aria-describedby": "token-help",
    });
    const button = h("button", { type: "submit", id: "login-submit", class: "primary" }, "Sign in");
    const form = h("form", {
      class: "login", onsubmit: async (ev) => {
        ev.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        button.disabled = true;
        sessionStorage.setItem(TOKEN_KEY, token);
        try {
          me = await api("GET", "/api/whoami");
        } catch (err) {
          sessionStorage.removeItem(TOKEN_KEY);
          me = null;
          button.disabled = false;
          if (err instanceof ApiError && err.status === 401) {
            flash("error", `That token was not accepted (${err.message}).`);
          } else {
            flash("error", `Could not sign in: ${err.message}`);
          }
          input.select();
          return;
        }
        clearFlash();
        const target = next && !next.startsWith("#/login") ? next : lastQueueHash;
        go(target);
      },
    },
    h("h1", {}, "Sign in to the Sentrail console"),
    h("label", { for: "token" }, "API token"),
    input,
    h("p", { id: "token-help", class: "muted" },
      "Your token is kept in this browser tab only (sessionStorage) and sent to the engine as a bearer token. ",
      "Ask an administrator for one if you have none."),
    button);
    show("login", form);
    input.focus();
  }

  function logout() {
    sessionStorage.removeItem(TOKEN_KEY);
    me = null;
    go("#/login");
  }

  // ---------------------------------------------------------------- pagination

  function pager(kind, params, nextCursor, shown, total, path) {
    const key = filterKey(params);
    const trail = trails[kind];
    if (trail.key !== key) {
      trail.key = key;
      trail.cursors = [];
    }
    const cursor = params.get("cursor") || "";
    // Coming back to the first page (a link, a reload) drops a stale trail.
    if (!cursor) trail.cursors = [];
    const page = trail.cursors.length + 1;
    const limit = Number(params.get("limit") || 50);
    const first = shown ? (page - 1) * limit + 1 : 0;
    const prev = h("button", {
      type: "button", class: "pager-prev", disabled: !cursor, dataset: { testid: "prev-page" },
      onclick: () => {
        const back = trail.cursors.pop() || "";
        const p = new URLSearchParams(params);
        if (back) p.set("cursor", back); else p.delete("cursor");
        go(hashFor(path, p));
      },
    }, "← Newer");
    const next = h("button", {
      type: "button", class: "pager-next", disabled: !nextCursor, dataset: { testid: "next-page" },
      onclick: () => {
        trail.cursors.push(cursor);
        const p = new URLSearchParams(params);
        p.set("cursor", nextCursor);
        go(hashFor(path, p));
      },
    }, "Older →");
    // A reloaded or shared later page has no trail: its number is unknown.
    const known = !cursor || trail.cursors.length > 0;
    const info = !shown ? `0 of ${total}`
      : known ? `Page ${page} · ${first}–${first + shown - 1} of ${total}` : `${shown} older of ${total}`;
    return h("div", { class: "pager" }, prev,
      h("span", { class: "muted", dataset: { testid: "page-info" } }, info), next);
  }

  function filterKey(params) {
    const p = new URLSearchParams(params);
    p.delete("cursor");
    p.sort();
    return p.toString();
  }

  function pageSizeSelect(params, path) {
    const current = String(params.get("limit") || 50);
    return h("label", { class: "inline" }, "Per page ",
      h("select", {
        name: "limit", onchange: (ev) => {
          const p = new URLSearchParams(params);
          p.set("limit", ev.target.value);
          p.delete("cursor");
          go(hashFor(path, p));
        },
      }, [...new Set([...PAGE_SIZES.map(String), current])].sort((x, y) => x - y)
        .map((n) => h("option", { value: n, selected: n === current }, n))));
  }

  // ---------------------------------------------------------------- alert queue

  function toLocalInput(rfc3339) {
    // datetime-local holds no zone; the console's clock is UTC throughout.
    if (!rfc3339) return "";
    const d = new Date(/^\d+$/.test(rfc3339) ? Number(rfc3339) : rfc3339);
    return isNaN(d) ? "" : d.toISOString().slice(0, 19);
  }

  function fromLocalInput(value) {
    if (!value) return "";
    return (value.length === 16 ? value + ":00" : value) + "Z";
  }

  async function renderQueue(params, isCurrent) {
    const status = params.get("status") || "new";
    if (!params.get("status")) params.set("status", status);
    lastQueueHash = hashFor("/alerts", params);
    setNav("alerts");
    loading("queue");

    const q = new URLSearchParams();
    if (status !== "all") q.set("status", status);
    for (const k of ["level", "rule", "channel", "entity", "from", "to", "q", "cursor"]) {
      if (params.get(k)) q.set(k, params.get(k));
    }
    q.set("limit", params.get("limit") || "50");
    const data = await api("GET", "/api/alerts?" + q.toString());
    if (!isCurrent()) return;

    const counts = (data.counts && data.counts.status) || {};
    const levelCounts = (data.counts && data.counts.level) || {};
    const all = ALERT_STATUSES.reduce((n, s) => n + (counts[s] || 0), 0);

    const withParam = (k, v) => {
      const p = new URLSearchParams(params);
      if (v === "" || v === null) p.delete(k); else p.set(k, v);
      p.delete("cursor");
      return hashFor("/alerts", p);
    };

    const tabs = h("nav", { class: "tabs", "aria-label": "Status" },
      [...ALERT_STATUSES, "all"].map((s) => h("a", {
        href: withParam("status", s), class: "tab" + (s === status ? " active" : ""),
        dataset: { tab: s }, "aria-current": s === status ? "page" : null,
      }, label(s) === "all" ? "All" : label(s)[0].toUpperCase() + label(s).slice(1), " ",
      h("span", { class: "count", dataset: { count: s } }, s === "all" ? all : (counts[s] || 0)))));

    const level = params.get("level") || "";
    const levelChips = h("div", { class: "level-chips", "aria-label": "Levels" },
      LEVELS.map((l) => h("a", {
        href: withParam("level", l === level ? "" : l),
        class: "level-chip level-" + l + (l === level ? " active" : ""),
        dataset: { levelChip: l }, title: l === level ? "Show every level" : `Only ${l}`,
      }, l, " ", h("span", { class: "count" }, levelCounts[l] || 0))));

    const filters = queueFilters(params, data.alerts);

    const rows = data.alerts.map((a) => alertRow(a));
    const table = h("table", { class: "grid queue", dataset: { testid: "alert-table" } },
      h("thead", {}, h("tr", {},
        ["Level", "Last seen ↓", "Rule", "Entity", "Channels", "Count", "Loss exposure", "Status", "Assignee", "Incident"]
          .map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.length ? rows :
        h("tr", { class: "empty" }, h("td", { colspan: 10 }, "No alerts match these filters."))));

    show("queue",
      h("div", { class: "view-head" },
        h("h1", {}, "Alert queue"),
        h("div", { class: "view-tools" },
          h("span", { class: "muted", dataset: { testid: "total" } }, `${data.total} matching`),
          pageSizeSelect(params, "/alerts"),
          h("button", { type: "button", onclick: () => route() }, "Refresh"))),
      tabs, levelChips, filters, table,
      pager("alerts", params, data.next_cursor, data.alerts.length, data.total, "/alerts"));
  }

  function queueFilters(params, alerts) {
    const rules = [...new Set(alerts.map((a) => a.rule_id))].sort();
    const field = (name, labelText, input) => h("label", { class: "filter" }, h("span", {}, labelText), input);
    const text = (name, placeholder) => h("input", {
      name, type: "search", value: params.get(name) || "", placeholder, autocomplete: "off",
    });
    const select = (name, options, anyText) => h("select", { name },
      h("option", { value: "" }, anyText),
      options.map((o) => h("option", { value: o, selected: params.get(name) === o }, o)));

    const quick = h("select", {
      name: "range", title: "Fill in From with a time relative to now",
      onchange: (ev) => {
        const minutes = Number(ev.target.value);
        if (!minutes) return;
        form.elements.from.value = new Date(Date.now() - minutes * 60000).toISOString().slice(0, 19);
        form.elements.to.value = "";
        form.requestSubmit();
      },
    },
    h("option", { value: "" }, "Quick range…"),
    [[15, "Last 15 minutes"], [60, "Last hour"], [1440, "Last 24 hours"], [10080, "Last 7 days"]]
      .map(([m, t]) => h("option", { value: m }, t)));

    const form = h("form", {
      class: "filters", dataset: { testid: "filters" }, role: "search",
      onsubmit: (ev) => {
        ev.preventDefault();
        const p = new URLSearchParams();
        p.set("status", params.get("status") || "new");
        for (const k of ["level", "rule", "channel", "entity", "q"]) {
          const v = form.elements[k].value.trim();
          if (v) p.set(k, v);
        }
        const from = fromLocalInput(form.elements.from.value);
        const to = fromLocalInput(form.elements.to.value);
        if (from) p.set("from", from);
        if (to) p.set("to", to);
        if (params.get("limit")) p.set("limit", params.get("limit"));
        go(hashFor("/alerts", p));
      },
    },
    field("q", "Search", text("q", "rule, title, entity, note…")),
    field("level", "Level", select("level", LEVELS, "Any level")),
    field("rule", "Rule", h("input", {
      name: "rule", type: "search", list: "rule-ids", value: params.get("rule") || "",
      placeholder: "rule id", autocomplete: "off",
    })),
    h("datalist", { id: "rule-ids" }, rules.map((r) => h("option", { value: r }))),
    field("channel", "Channel", select("channel", CHANNELS, "Any channel")),
    field("entity", "Entity", text("entity", "exact value, e.g. E100")),
    field("from", "From (UTC)", h("input", { name: "from", type: "datetime-local", step: 1, value: toLocalInput(params.get("from")) })),
    field("to", "To (UTC)", h("input", { name: "to", type: "datetime-local", step: 1, value: toLocalInput(params.get("to")) })),
    field("range", "", quick),
    h("div", { class: "filter-buttons" },
      h("button", { type: "submit", class: "primary", dataset: { testid: "apply-filters" } }, "Apply"),
      h("a", { href: hashFor("/alerts", new URLSearchParams({ status: params.get("status") || "new" })), class: "button" }, "Clear")));
    // Choices apply at once; typed text applies on Enter or Apply.
    for (const name of ["level", "channel"]) form.elements[name].addEventListener("change", () => form.requestSubmit());
    return form;
  }

  function entityLinks(group, fallback) {
    const entries = Object.entries(group || {});
    if (!entries.length) return fallback || "—";
    return entries.map(([f, v], i) => [i ? ", " : "", h("span", { class: "muted" }, f + "="),
      h("a", { href: hashFor("/alerts", new URLSearchParams({ status: "all", entity: fieldValue(v) })), title: "Every alert on this entity" },
        fieldValue(v))]);
  }

  function alertRow(a, withIncident = true) {
    const href = "#/alerts/" + encodeURIComponent(a.id);
    return h("tr", {
      class: "row level-row-" + a.level, dataset: { alertId: a.id, status: a.status, level: a.level },
      onclick: (ev) => {
        if (ev.target.closest("a")) return; // links in the row keep their own target
        go(href);
      },
    },
    h("td", {}, levelBadge(a.level)),
    h("td", { class: "nowrap" }, fmtTime(a.last_seen)),
    h("td", {}, h("a", { href, class: "rule-title" }, a.rule_title || a.rule_id),
      h("div", { class: "muted small" }, a.rule_id, a.type && a.type !== "detection" ? ` · ${label(a.type)}` : "")),
    h("td", {}, entityLinks(a.group, a.entity)),
    h("td", {}, channelChips(a.channels)),
    h("td", { class: "num" }, a.count),
    h("td", { class: "num nowrap", dataset: { testid: "loss" } }, money(a.loss_exposure)),
    h("td", {}, statusBadge(a.status), a.verdict ? h("div", { class: "small" }, verdictLabel(a.verdict)) : null),
    h("td", {}, a.assignee || h("span", { class: "muted" }, "—")),
    withIncident ? h("td", {}, a.incident_id
      ? h("a", { href: "#/incidents/" + encodeURIComponent(a.incident_id), title: a.incident_id }, a.incident_id.slice(0, 8))
      : h("span", { class: "muted" }, "—")) : null);
  }

  // ----------------------------------------------------------------- alert page

  async function renderAlert(id, isCurrent) {
    loading("alert");
    const data = await api("GET", "/api/alerts/" + encodeURIComponent(id));
    if (!isCurrent()) return;
    const a = data.alert;
    const detail = data.detail || {};
    const evidence = [...(data.evidence || [])];
    // The API merges channels in time order already; a stable sort keeps that
    // promise on the page even if an older engine did not.
    for (const e of evidence) if (!e.time && e["@timestamp"]) e.time = e["@timestamp"];
    evidence.sort((x, y) => Date.parse(x.time) - Date.parse(y.time));

    const facts = [
      ["Rule", [h("a", { href: hashFor("/alerts", new URLSearchParams({ status: "all", rule: a.rule_id })) }, a.rule_id),
        detail.rule && detail.rule.tags && detail.rule.tags.length ? h("div", { class: "muted small" }, detail.rule.tags.join(" ")) : null]],
      ["Type", label(a.type)],
      ["Entity", entityLinks(a.group, a.entity)],
      ["Channels", channelChips(a.channels)],
      ["First seen", fmtTime(a.first_seen)],
      ["Last seen", fmtTime(a.last_seen)],
      ["Count", a.count],
      detail.value !== undefined && detail.value !== null ? ["Value", fieldValue(detail.value)] : null,
      ["Loss exposure", h("span", { class: "money", dataset: { testid: "loss-exposure" } }, money(a.loss_exposure))],
      ["Status", [statusBadge(a.status), a.verdict ? [" ", h("span", { class: "verdict", dataset: { testid: "verdict" } }, verdictLabel(a.verdict))] : null]],
      ["Assignee", a.assignee || "—"],
      ["Incident", a.incident_id ? h("a", { href: "#/incidents/" + encodeURIComponent(a.incident_id) }, a.incident_id) : "—"],
      ["Alert id", h("code", {}, a.id)],
    ].filter(Boolean);

    show("alert",
      h("p", { class: "crumbs" }, h("a", { href: lastQueueHash, dataset: { testid: "back-to-queue" } }, "← Alert queue")),
      h("div", { class: "view-head" },
        h("h1", {}, levelBadge(a.level), " ", h("span", { dataset: { testid: "alert-title" } }, a.rule_title || a.rule_id)),
        h("div", { class: "view-tools" }, h("button", { type: "button", onclick: () => route() }, "Refresh"))),
      h("div", { class: "columns" },
        h("div", { class: "main-col" },
          h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
          h("h2", {}, "Evidence timeline ", h("span", { class: "muted small" },
            `${evidence.length} event${evidence.length === 1 ? "" : "s"} across ${new Set(evidence.map((e) => e.channel)).size} channel(s)`)),
          evidenceTable(evidence),
          h("details", { class: "raw" }, h("summary", {}, "Stored alert JSON"), h("pre", {}, JSON.stringify(detail, null, 2)))),
        h("aside", { class: "side-col" },
          actionsPanel("alert", a, a.status, ALERT_STATUSES),
          notesPanel("alert", a.id, data.notes || []),
          historyPanel(data.history || []))));
  }

  function evidenceTable(evidence) {
    if (!evidence.length) return h("p", { class: "muted" }, "This alert carries no evidence events.");
    return h("table", { class: "grid evidence", dataset: { testid: "evidence" } },
      h("thead", {}, h("tr", {}, ["Time", "Channel", "Action", "Key fields", "Source"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, evidence.map((e) => {
        const fields = e.fields || {};
        const names = Object.keys(fields).filter((n) => n !== "event.action" && n !== "@timestamp" && n !== "event.channel");
        names.sort((x, y) => {
          const ix = KEY_FIELDS.indexOf(x), iy = KEY_FIELDS.indexOf(y);
          if (ix >= 0 || iy >= 0) return (ix < 0 ? 1e9 : ix) - (iy < 0 ? 1e9 : iy);
          return x < y ? -1 : x > y ? 1 : 0;
        });
        return h("tr", { class: "channel-row-" + e.channel, dataset: { time: e.time, channel: e.channel } },
          h("td", { class: "nowrap" }, fmtTime(e.time)),
          h("td", {}, channelChips([e.channel])),
          h("td", {}, fieldValue(fields["event.action"]) || "—"),
          h("td", { class: "kv" }, names.map((n) => h("span", { class: "kv-pair" },
            h("span", { class: "k" }, n), "=", h("span", { class: "v" }, fieldValue(fields[n]))))),
          h("td", { class: "muted small nowrap" }, `${e.topic} [${e.partition}] @${e.offset}`));
      })));
  }

  // ---------------------------------------------------------- triage actions

  function actionsPanel(kind, obj, status, statuses) {
    const base = kind === "alert" ? "/api/alerts/" : "/api/incidents/";
    const noun = kind;
    const allowed = canTriage();
    const open = statuses[0]; // "new" for alerts, "open" for incidents
    const canAck = allowed && status === open;
    const canAssign = allowed && status !== "closed";
    const canClose = allowed && status !== "closed";
    const canReopen = allowed && status === "closed";
    const why = (ok, reason) => (ok ? null : allowed ? reason : `Your role (${me.role}) cannot triage`);

    const run = async (action, body, done, button) => {
      button.disabled = true;
      try {
        await api("POST", base + encodeURIComponent(obj.id) + "/" + action, body);
      } catch (err) {
        const shown = reportError(err, `${ACTION_WORDS[action] || action} this ${noun}`);
        if (!shown) return;
        if (err.status === 409 || err.status === 404) {
          pendingFlash = shown; // someone else moved it: show what it is now
          route();
        } else {
          button.disabled = false;
        }
        return;
      }
      pendingFlash = ["success", done];
      route();
    };

    const ackNote = h("input", { name: "ack-note", type: "text", placeholder: "note (optional)", disabled: !(canAck || canReopen), maxlength: 4000 });
    const ackBtn = h("button", {
      type: "button", dataset: { action: "acknowledge" }, disabled: !canAck,
      title: why(canAck, `Only a ${open} ${noun} can be acknowledged`),
      onclick: (ev) => run("acknowledge", ackNote.value.trim() ? { note: ackNote.value.trim() } : {},
        `${cap(noun)} acknowledged.`, ev.currentTarget),
    }, "Acknowledge");
    const reopenBtn = h("button", {
      type: "button", dataset: { action: "reopen" }, disabled: !canReopen,
      title: why(canReopen, `Only a closed ${noun} can be reopened`),
      onclick: (ev) => run("reopen", ackNote.value.trim() ? { note: ackNote.value.trim() } : {},
        `${cap(noun)} reopened; its verdict is cleared (the history keeps it).`, ev.currentTarget),
    }, "Reopen");

    const assignee = h("input", {
      name: "assignee", type: "text", pattern: ASSIGNEE_PATTERN, maxlength: 64, required: true,
      value: obj.assignee || "", placeholder: "analyst name", disabled: !canAssign, autocomplete: "off",
    });
    const assignBtn = h("button", { type: "submit", dataset: { action: "assign" }, disabled: !canAssign, title: why(canAssign, `A closed ${noun} cannot be assigned`) }, "Assign");
    const assignForm = h("form", {
      class: "action-row", onsubmit: (ev) => {
        ev.preventDefault();
        if (!assignee.reportValidity()) return;
        run("assign", { assignee: assignee.value.trim() }, `${cap(noun)} assigned to ${assignee.value.trim()}.`, assignBtn);
      },
    }, assignee, assignBtn,
    h("button", {
      type: "button", class: "link", disabled: !canAssign, dataset: { action: "assign-me" },
      onclick: () => { assignee.value = me.name; assignForm.requestSubmit(); },
    }, "to me"));

    const verdict = h("select", { name: "verdict", required: true, disabled: !canClose },
      h("option", { value: "" }, "Choose a verdict…"),
      VERDICTS.map(([v, t]) => h("option", { value: v }, t)));
    const closeNote = h("textarea", { name: "close-note", rows: 3, maxlength: 4000, placeholder: "Why? (optional, kept in the history)", disabled: !canClose });
    const closeBtn = h("button", { type: "submit", class: "primary", dataset: { action: "close" }, disabled: !canClose, title: why(canClose, `This ${noun} is already closed`) }, `Close ${noun}`);
    const closeForm = h("form", {
      class: "close-form", onsubmit: (ev) => {
        ev.preventDefault();
        if (!verdict.value) {
          flash("error", "Choose a verdict before closing.");
          verdict.focus();
          return;
        }
        const body = { verdict: verdict.value };
        if (closeNote.value.trim()) body.note = closeNote.value.trim();
        const extra = kind === "incident" ? " Its open alerts are closed with the same verdict." : "";
        run("close", body, `${cap(noun)} closed as ${verdictLabel(verdict.value).toLowerCase()}.${extra}`, closeBtn);
      },
    },
    h("label", {}, "Verdict", verdict),
    h("label", {}, "Note", closeNote),
    closeBtn);

    return h("section", { class: "panel actions", dataset: { testid: "actions" } },
      h("h2", {}, "Triage"),
      allowed ? null : h("p", { class: "notice", dataset: { testid: "role-notice" } },
        `You are signed in as ${me.name} with the ${me.role} role: you can read ${noun}s but not change them.`),
      h("div", { class: "action-row" }, ackBtn, reopenBtn, ackNote),
      h("h3", {}, "Assign"), assignForm,
      h("h3", {}, "Close with a verdict"), closeForm);
  }

  function cap(s) {
    return s[0].toUpperCase() + s.slice(1);
  }

  function notesPanel(kind, id, notes) {
    const allowed = canTriage();
    const text = h("textarea", { name: "note", rows: 3, maxlength: 4000, required: true, placeholder: "Add a note", disabled: !allowed });
    const btn = h("button", { type: "submit", dataset: { action: "notes" }, disabled: !allowed, title: allowed ? null : `Your role (${me.role}) cannot add notes` }, "Add note");
    const form = h("form", {
      onsubmit: async (ev) => {
        ev.preventDefault();
        const t = text.value.trim();
        if (!t) return;
        btn.disabled = true;
        try {
          await api("POST", (kind === "alert" ? "/api/alerts/" : "/api/incidents/") + encodeURIComponent(id) + "/notes",
            { text: t });
        } catch (err) {
          btn.disabled = false;
          return reportError(err, "add notes to this " + kind);
        }
        pendingFlash = ["success", "Note added."];
        route();
      },
    }, text, btn);
    return h("section", { class: "panel notes", dataset: { testid: "notes" } },
      h("h2", {}, "Notes ", h("span", { class: "muted small" }, notes.length)),
      notes.length ? h("ol", { class: "notes-list" }, notes.map((n) => h("li", {},
        h("div", { class: "muted small" }, `${n.author} · ${fmtTime(n.time)}`),
        h("div", { class: "note-text" }, n.text)))) : h("p", { class: "muted" }, "No notes yet."),
      form);
  }

  function historyPanel(history) {
    const describe = (e) => {
      const before = e.before || {};
      const after = e.after || {};
      const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
      return keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
        .map((k) => h("div", { class: "small" }, h("span", { class: "muted" }, label(k) + ": "),
          fieldValue(before[k]) || "—", " → ", fieldValue(after[k]) || "—"));
    };
    return h("section", { class: "panel history", dataset: { testid: "history" } },
      h("h2", {}, "History"),
      history.length ? h("ol", { class: "history-list" }, history.map((e) => h("li", { dataset: { historyAction: e.action } },
        h("div", {}, h("strong", {}, label(e.action)), " by ", e.actor, e.role ? ` (${e.role})` : ""),
        h("div", { class: "muted small" }, fmtTime(e.time)),
        describe(e),
        e.note ? h("div", { class: "note-text" }, e.note) : null))) : h("p", { class: "muted" }, "No triage yet."));
  }

  // ----------------------------------------------------------------- incidents

  async function renderIncidents(params, isCurrent) {
    const status = params.get("status") || "open";
    if (!params.get("status")) params.set("status", status);
    lastIncidentsHash = hashFor("/incidents", params);
    setNav("incidents");
    loading("incidents");
    const q = new URLSearchParams();
    if (status !== "all") q.set("status", status);
    if (params.get("cursor")) q.set("cursor", params.get("cursor"));
    q.set("limit", params.get("limit") || "50");
    const data = await api("GET", "/api/incidents?" + q.toString());
    if (!isCurrent()) return;

    const counts = (data.counts && data.counts.status) || {};
    const all = INCIDENT_STATUSES.reduce((n, s) => n + (counts[s] || 0), 0);
    const tabs = h("nav", { class: "tabs", "aria-label": "Status" },
      [...INCIDENT_STATUSES, "all"].map((s) => h("a", {
        href: hashFor("/incidents", new URLSearchParams({ status: s, limit: params.get("limit") || "" })),
        class: "tab" + (s === status ? " active" : ""), dataset: { tab: s },
      }, s === "all" ? "All" : cap(label(s)), " ",
      h("span", { class: "count", dataset: { count: s } }, s === "all" ? all : (counts[s] || 0)))));

    const rows = data.incidents.map((inc) => {
      const href = "#/incidents/" + encodeURIComponent(inc.id);
      return h("tr", {
        class: "row", dataset: { incidentId: inc.id, status: inc.status },
        onclick: (ev) => { if (!ev.target.closest("a")) go(href); },
      },
      h("td", {}, levelBadge(highestLevel(inc.levels))),
      h("td", { class: "nowrap" }, fmtTime(inc.last_seen)),
      h("td", {}, h("a", { href }, inc.entity || inc.id)),
      h("td", { class: "num" }, inc.alert_count),
      h("td", {}, levelCounts(inc.levels)),
      h("td", { class: "small" }, (inc.rules || []).join(", ")),
      h("td", {}, channelChips(inc.channels)),
      h("td", { class: "num nowrap" }, money(inc.loss_exposure)),
      h("td", {}, statusBadge(inc.status), inc.verdict ? h("div", { class: "small" }, verdictLabel(inc.verdict)) : null),
      h("td", {}, inc.assignee || h("span", { class: "muted" }, "—")));
    });

    show("incidents",
      h("div", { class: "view-head" },
        h("h1", {}, "Incidents"),
        h("div", { class: "view-tools" },
          h("span", { class: "muted", dataset: { testid: "total" } }, `${data.total} matching`),
          pageSizeSelect(params, "/incidents"),
          h("button", { type: "button", onclick: () => route() }, "Refresh"))),
      h("p", { class: "muted" }, "Alerts that share an entity value close together in time are grouped into one incident."),
      tabs,
      h("table", { class: "grid incidents", dataset: { testid: "incident-table" } },
        h("thead", {}, h("tr", {}, ["Top level", "Last seen ↓", "Entity", "Alerts", "Levels", "Rules", "Channels", "Loss exposure", "Status", "Assignee"]
          .map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: 10 }, "No incidents here.")))),
      pager("incidents", params, data.next_cursor, data.incidents.length, data.total, "/incidents"));
  }

  function levelCounts(levels) {
    return LEVELS.filter((l) => levels && levels[l] > 0)
      .map((l) => h("span", { class: "level level-" + l, title: l }, `${l} ${levels[l]}`));
  }

  async function renderIncident(id, isCurrent) {
    loading("incident");
    const data = await api("GET", "/api/incidents/" + encodeURIComponent(id));
    if (!isCurrent()) return;
    const inc = data.incident;
    const facts = [
      ["Entity", inc.entity ? h("a", { href: hashFor("/alerts", new URLSearchParams({ status: "all", entity: String(inc.entity).split("=").slice(1).join("=") || inc.entity })) }, inc.entity) : "—"],
      ["Status", [statusBadge(inc.status), inc.verdict ? [" ", h("span", { class: "verdict" }, verdictLabel(inc.verdict))] : null]],
      ["Assignee", inc.assignee || "—"],
      ["First seen", fmtTime(inc.first_seen)],
      ["Last seen", fmtTime(inc.last_seen)],
      ["Alerts", inc.alert_count],
      ["Levels", levelCounts(inc.levels)],
      ["Rules", (inc.rules || []).join(", ") || "—"],
      ["Channels", channelChips(inc.channels)],
      ["Loss exposure", h("span", { class: "money" }, money(inc.loss_exposure))],
      ["Incident id", h("code", {}, inc.id)],
    ];
    const alerts = data.alerts || [];
    show("incident",
      h("p", { class: "crumbs" }, h("a", { href: lastIncidentsHash }, "← Incidents")),
      h("div", { class: "view-head" },
        h("h1", {}, levelBadge(highestLevel(inc.levels)), " Incident on ", h("span", {}, inc.entity || inc.id)),
        h("div", { class: "view-tools" }, h("button", { type: "button", onclick: () => route() }, "Refresh"))),
      h("div", { class: "columns" },
        h("div", { class: "main-col" },
          h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
          h("h2", {}, "Alerts in time order"),
          h("table", { class: "grid queue", dataset: { testid: "incident-alerts" } },
            h("thead", {}, h("tr", {}, ["Level", "Last seen", "Rule", "Entity", "Channels", "Count", "Loss exposure", "Status", "Assignee"]
              .map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, alerts.map((a) => alertRow(a, false))))),
        h("aside", { class: "side-col" },
          actionsPanel("incident", inc, inc.status, INCIDENT_STATUSES),
          // An incident's notes are the note entries of its history.
          notesPanel("incident", inc.id, (data.history || []).filter((e) => e.action === "note")
            .map((e) => ({ author: e.actor, time: e.time, text: e.note }))),
          historyPanel(data.history || []))));
  }

  // ---------------------------------------------------------------------- start

  document.getElementById("logout").addEventListener("click", logout);
  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    // "/" jumps to the search box; j/k move through the rows and Enter opens one,
    // as in most triage consoles.
    if (ev.key === "/") {
      const search = document.querySelector('.filters input[name="q"]');
      if (search) {
        ev.preventDefault();
        search.focus();
      }
      return;
    }
    const rows = [...document.querySelectorAll("table.grid tbody tr.row")];
    if (!rows.length) return;
    const at = rows.findIndex((r) => r.classList.contains("selected"));
    if (ev.key === "j" || ev.key === "k") {
      const to = at < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, at + (ev.key === "j" ? 1 : -1)));
      if (at >= 0) rows[at].classList.remove("selected");
      rows[to].classList.add("selected");
      rows[to].scrollIntoView({ block: "nearest" });
    } else if (ev.key === "Enter" && at >= 0 && !ev.target.closest("a, button")) {
      const link = rows[at].querySelector("a.rule-title, td a");
      if (link) link.click();
    }
  });
  window.addEventListener("hashchange", route);
  route();
})();
