// The sandbox dashboard's script (embedded in the binary, served at /_sandbox/ui/app.js).
//
// Everything it shows and does goes through the ordinary /_sandbox JSON endpoints, the
// same typed operations scripts and tests use; it keeps no model of its own beyond what
// the last fetch returned. /_sandbox/events (server-sent events) says "changed" when the
// sandbox's state may have moved, and the page refetches: no reload, no polling loop.
// Data is always put into the page as text (never as HTML), so a message body cannot
// inject markup; the page's Content-Security-Policy allows this script and nothing else.
"use strict";

const PAGE = 25;
const state = {
  invocationsPage: 0,
  invocationsFunction: null,
  invocations: [],
  openInvocation: null,
  peekQueue: null,
  peekPage: 0,
  clockMode: null,
};

// ---- talking to the sandbox ---------------------------------------------------------

/** One control-API call; JSON in and out. Throws an Error with the server's message. */
async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    // JSON, same origin: what the sandbox's access rules let a page change state with.
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let value = null;
  try { value = text ? JSON.parse(text) : null; } catch (_) { value = text; }
  if (!response.ok) {
    const message = value && value.error ? value.error : `${response.status} ${text}`;
    throw new Error(`${method} ${path}: ${message}`);
  }
  return value;
}

const enc = encodeURIComponent;

// ---- building the page (text only) ---------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function button(label, onclick, title) {
  return el("button", { type: "button", onclick, title }, label);
}

/** Replaces a section's table rows; shows the section's "empty" line when there are none. */
function fill(sectionId, rows, tableSelector) {
  const section = document.getElementById(sectionId);
  const body = section.querySelector(`${tableSelector || "table"} tbody`);
  body.replaceChildren(...rows);
  const empty = section.querySelector(":scope > .empty");
  if (empty) empty.hidden = rows.length > 0;
}

/** Keeps a <select>'s choice while its options are refreshed. */
function options(select, names) {
  const chosen = select.value;
  select.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
  if (names.includes(chosen)) select.value = chosen;
  select.closest("form").hidden = names.length === 0;
}

function pager(name, page, hasNext, go) {
  const nav = document.querySelector(`.pager[data-pager="${name}"]`);
  nav.replaceChildren();
  if (page === 0 && !hasNext) return;
  nav.append(
    el("button", { type: "button", disabled: page === 0, onclick: () => go(page - 1) }, "‹ newer"),
    el("span", {}, ` page ${page + 1} `),
    el("button", { type: "button", disabled: !hasNext, onclick: () => go(page + 1) }, "older ›"),
  );
}

function notice(text, isError) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.className = isError ? "error" : "ok";
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

/** `2030-01-01T00:00:00.123456Z` → `2030-01-01 00:00:00.123`. */
function when(stamp) {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d{1,3})?\d*Z$/.exec(stamp || "");
  return m ? `${m[1]} ${m[2]}${m[3] || ""}` : stamp;
}

function ms(value) {
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

function pretty(text) {
  if (text === null || text === undefined) return "";
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { return String(text); }
}

// ---- sections ------------------------------------------------------------------------

function renderClock(clock) {
  state.clockMode = clock.mode;
  document.getElementById("clock-mode").textContent = clock.mode;
  document.getElementById("clock-now").textContent = clock.now;
}

function renderAlarms(alarms) {
  const firing = alarms.filter((a) => a.state === "alarm");
  fill("alarms", alarms.map((a) =>
    el("tr", { class: a.state === "alarm" ? "firing" : "", "data-alarm": a.name },
      el("td", {}, a.name), el("td", { class: "state" }, a.state), el("td", {}, a.reason), el("td", {}, a.since))));
  const banner = document.getElementById("alarm-banner");
  banner.hidden = firing.length === 0;
  banner.replaceChildren(...firing.map((a) => el("div", { class: "firing", "data-alarm": a.name }, `ALARM ${a.name}: ${a.reason} (since ${a.since})`)));
  return firing;
}

function renderFunctions(status) {
  document.getElementById("app-name").textContent = status.app;
  document.title = `${status.app} · sandbox`;
  fill("functions", status.functions.map((f) =>
    el("tr", { class: f.state === "ready" && !f.reloadError ? "" : "failed", "data-function": f.name },
      el("td", {}, f.name),
      el("td", { title: f.error || f.reloadError || "" }, f.state, f.error ? `: ${f.error}` : "", f.reloadError ? ` (reload: ${f.reloadError})` : ""),
      el("td", {}, `${f.timeoutMs / 1000}s`), el("td", {}, `${f.memoryMiB} MiB`),
      el("td", {}, button("invocations", () => { state.invocationsFunction = f.name; state.invocationsPage = 0; refresh(); })))));
  fill("routes", status.routes.map((r) =>
    el("tr", {},
      el("td", {}, r.method), el("td", {}, r.path), el("td", {}, r.function),
      el("td", {}, button("try", () => {
        document.getElementById("try-method").value = r.method === "ANY" ? "GET" : r.method;
        document.getElementById("try-path").value = r.path.replace(/:([A-Za-z0-9_]+)/g, "$1").replace(/\*$/, "x");
        document.getElementById("try-path").focus();
      })))));
}

function renderInvocations(records) {
  state.invocations = records;
  const start = state.invocationsPage * PAGE;
  const page = records.slice(start, start + PAGE);
  fill("invocations", page.map((r) =>
    el("tr", {
      class: `${r.outcome === "success" ? "" : "failed"} ${state.openInvocation === r.requestId ? "open" : ""}`,
      "data-function": r.function, "data-outcome": r.outcome,
      onclick: () => { state.openInvocation = r.requestId; renderInvocations(state.invocations); },
    },
    el("td", { title: r.startedAt }, when(r.startedAt)), el("td", {}, r.function), el("td", {}, r.trigger),
    el("td", { class: "outcome" }, r.outcome), el("td", {}, ms(r.durationMs)))));
  pager("invocations", state.invocationsPage, records.length > start + PAGE, (p) => { state.invocationsPage = p; refresh(); });
  const filter = document.getElementById("invocations-filter");
  filter.replaceChildren();
  if (state.invocationsFunction) {
    filter.append(`of ${state.invocationsFunction} `, button("all", () => { state.invocationsFunction = null; state.invocationsPage = 0; refresh(); }));
  }
  const open = records.find((r) => r.requestId === state.openInvocation);
  const detail = document.getElementById("invocation-detail");
  detail.hidden = !open;
  if (open) {
    detail.replaceChildren(...[
      el("h3", {}, `${open.function} · ${open.requestId} `, button("close", () => { state.openInvocation = null; renderInvocations(state.invocations); })),
      el("p", {}, `${open.outcome} in ${ms(open.durationMs)}, ${open.trigger}, started ${open.startedAt}`),
      open.error ? el("pre", { class: "error" }, open.error) : null,
      el("h4", {}, "logs"), el("pre", { class: "logs" }, open.logs.length ? open.logs.join("\n") : "(none)"),
      "event" in open ? [el("h4", {}, "event"), el("pre", { class: "event" }, pretty(open.event))] : null,
      "response" in open ? [el("h4", {}, "response"), el("pre", { class: "response" }, pretty(open.response))] : null,
    ].flat().filter((node) => node !== null));
  }
}

function renderQueues(list, firing) {
  const alarmed = new Set(firing.map((a) => a.resource));
  const sources = new Set(list.queues.filter((q) => q.deadLetterQueue).map((q) => q.deadLetterQueue.name));
  fill("queues", list.queues.map((q) => {
    const dlq = q.deadLetterQueue;
    return el("tr", { class: alarmed.has(`queue/${q.name}`) ? "firing" : "", "data-queue": q.name },
      el("td", {}, q.name, q.fifo ? " (FIFO)" : ""), el("td", {}, q.consumer || "–"),
      el("td", { class: "visible" }, q.visible), el("td", { class: "in-flight" }, q.inFlight),
      el("td", { class: "delayed" }, q.delayed), el("td", { class: "oldest" }, age(q.oldestAgeSeconds)),
      el("td", { class: dlq && dlq.depth > 0 ? "dlq warn" : "dlq" }, dlq ? `${dlq.name}: ${dlq.depth}` : "–"),
      el("td", { class: "actions" },
        button("peek", () => { state.peekQueue = q.name; state.peekPage = 0; refresh(); }),
        button("purge", () => act(`purged ${q.name}`, "DELETE", `/_sandbox/queues/${enc(q.name)}/messages`), "delete every message"),
        sources.has(q.name) ? button("redrive", () => act(`redrove ${q.name}`, "POST", `/_sandbox/queues/${enc(q.name)}/redrive`, {}), "move the messages back to their source queues") : null));
  }));
  options(document.getElementById("send-queue"), list.queues.map((q) => q.name));
}

function renderPeek(messages) {
  const box = document.getElementById("peek");
  box.hidden = state.peekQueue === null;
  if (state.peekQueue === null) return;
  document.getElementById("peek-queue").textContent = state.peekQueue;
  const start = state.peekPage * PAGE;
  const rows = messages.slice(start, start + PAGE).map((m) =>
    el("tr", { "data-message": m.messageId },
      el("td", {}, m.messageId), el("td", {}, m.state, m.until ? ` until ${m.until}` : ""),
      el("td", {}, m.receiveCount), el("td", { title: m.sentAt }, when(m.sentAt)), el("td", { class: "body" }, m.body)));
  box.querySelector("tbody").replaceChildren(...rows);
  box.querySelector(".empty").hidden = messages.length > 0;
  pager("peek", state.peekPage, messages.length > start + PAGE, (p) => { state.peekPage = p; refresh(); });
}

function renderTopics(list) {
  const rows = [];
  for (const t of list.topics) {
    const subs = t.subscriptions.length ? t.subscriptions : [null];
    subs.forEach((s, i) => rows.push(el("tr", { "data-topic": t.name },
      el("td", {}, i === 0 ? t.name : ""), el("td", {}, i === 0 ? t.published : ""),
      el("td", {}, s ? `${s.target.kind} ${s.target.name}` : "no subscriptions"),
      el("td", {}, s ? s.delivered : ""), el("td", {}, s ? s.filtered : ""),
      el("td", { class: s && s.failed ? "warn" : "" }, s ? s.failed : ""),
      el("td", {}, s ? s.retrying : ""), el("td", {}, s ? s.deadLettered : ""))));
  }
  fill("topics", rows);
  options(document.getElementById("publish-topic"), list.topics.map((t) => t.name));
}

function renderBuses(list) {
  const rules = [];
  const archives = [];
  for (const b of list.buses) {
    if (!b.rules.length) rules.push(el("tr", {}, el("td", {}, b.name), el("td", { colSpan: 4 }, "no rules")));
    b.rules.forEach((r, i) => rules.push(el("tr", { "data-bus": b.name },
      el("td", {}, i === 0 ? b.name : ""), el("td", {}, r.name), el("td", {}, r.enabled ? "yes" : "no"), el("td", {}, r.matched),
      el("td", {}, (r.targets || []).map((t) => `${t.id} ${t.delivered}/${t.failed}/${t.retrying}`).join(", ")))));
    for (const a of b.archives) {
      archives.push(el("tr", {}, el("td", {}, b.name), el("td", {}, a.name), el("td", {}, a.eventCount),
        el("td", {}, a.retentionDays ? `${a.retentionDays} d` : "forever"),
        el("td", {}, button("replay…", () => {
          const form = document.getElementById("replay-form");
          form.hidden = false;
          form.dataset.bus = b.name;
          form.dataset.archive = a.name;
          document.getElementById("replay-bus").textContent = b.name;
          document.getElementById("replay-archive").textContent = a.name;
        }))));
    }
  }
  fill("buses", rules, "table:first-of-type");
  document.getElementById("archives").hidden = archives.length === 0;
  document.querySelector("#archives tbody").replaceChildren(...archives);
  options(document.getElementById("event-bus"), list.buses.map((b) => b.name));
}

function renderStreams(list) {
  const rows = [];
  for (const s of list.streams) {
    const consumers = s.consumers.length ? s.consumers : [null];
    consumers.forEach((c, i) => rows.push(el("tr", { "data-stream": s.name },
      el("td", {}, i === 0 ? s.name : ""), el("td", {}, i === 0 ? s.shards.length : ""), el("td", {}, i === 0 ? s.records : ""),
      el("td", {}, c ? c.name : "no consumers"), el("td", { class: c && c.lag ? "warn" : "" }, c ? c.lag : ""),
      el("td", {}, c ? c.shards.reduce((n, sh) => n + (Array.isArray(sh.retryBatches) ? sh.retryBatches.length : (sh.retryBatches || 0)), 0) : ""),
      el("td", {}, c ? c.givenUp : ""))));
  }
  fill("streams", rows);
  options(document.getElementById("record-stream"), list.streams.map((s) => s.name));
}

function renderSchedules(list) {
  fill("schedules", list.schedules.map((s) =>
    el("tr", { "data-schedule": s.name },
      el("td", {}, s.name), el("td", {}, s.expression), el("td", {}, s.timezone),
      el("td", { class: "next" }, s.next[0] || "never"), el("td", { class: "then" }, s.next.slice(1, 3).join(", ")),
      el("td", {}, button("run now", () => act(`ran ${s.name}`, "POST", `/_sandbox/schedules/${enc(s.name)}/invoke`, {}))))));
}

// ---- refreshing ------------------------------------------------------------------------

let running = null;
let again = false;

/** Refetches everything shown. Calls arriving while one runs fold into one more pass. */
function refresh() {
  if (running) { again = true; return running; }
  running = (async () => {
    do {
      again = false;
      try { await load(); } catch (e) { notice(e.message, true); }
    } while (again);
    running = null;
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  })();
  return running;
}

async function load() {
  const limit = Math.min(1000, (state.invocationsPage + 1) * PAGE + 1);
  const fn = state.invocationsFunction ? `&function=${enc(state.invocationsFunction)}` : "";
  const [status, clock, invocations, alarms, queues, topics, buses, streams, schedules, peek] = await Promise.all([
    api("GET", "/_sandbox/status"),
    api("GET", "/_sandbox/clock"),
    api("GET", `/_sandbox/invocations?limit=${limit}${fn}`),
    api("GET", "/_sandbox/alarms"),
    api("GET", "/_sandbox/queues"),
    api("GET", "/_sandbox/topics"),
    api("GET", "/_sandbox/buses"),
    api("GET", "/_sandbox/streams"),
    api("GET", "/_sandbox/schedules"),
    state.peekQueue === null ? null
      : api("GET", `/_sandbox/queues/${enc(state.peekQueue)}/messages`).catch((e) => { state.peekQueue = null; notice(e.message, true); return null; }),
  ]);
  renderClock(clock);
  renderFunctions(status);
  renderInvocations(invocations);
  const firing = renderAlarms(alarms.alarms);
  renderQueues(queues, firing);
  renderPeek(peek ? peek.messages : []);
  renderTopics(topics);
  renderBuses(buses);
  renderStreams(streams);
  renderSchedules(schedules);
}

/** A button's action: call, say what happened, refresh. */
async function act(done, method, path, body) {
  try {
    const answer = await api(method, path, body);
    notice(typeof done === "function" ? done(answer) : done, false);
  } catch (e) {
    notice(e.message, true);
  }
  refresh();
}

function onSubmit(id, handler) {
  document.getElementById(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler(event.target);
  });
}

function value(id) {
  return document.getElementById(id).value;
}

function jsonField(id) {
  const text = value(id).trim();
  if (!text) return {};
  try { return JSON.parse(text); } catch (e) { throw new Error(`${id}: not JSON (${e.message})`); }
}

function wire() {
  onSubmit("advance-form", () => act((c) => `clock now ${c.now}`, "POST", "/_sandbox/clock", { advance: value("advance-by") }));
  onSubmit("set-form", () => act((c) => `clock now ${c.now}`, "POST", "/_sandbox/clock", { set: value("set-to") }));
  document.getElementById("drain-button").addEventListener("click", () =>
    act((d) => (d.drained ? "drained: nothing runs, nothing is due" : "still busy"), "POST", "/_sandbox/drain?timeout=10s", {}));
  onSubmit("send-form", (form) => {
    const body = { body: value("send-body") };
    const delay = value("send-delay");
    if (delay) body.delaySeconds = Number(delay);
    act((r) => `sent ${r.messageId}`, "POST", `/_sandbox/queues/${enc(value("send-queue"))}/messages`, body)
      .then(() => { document.getElementById("send-body").value = ""; });
    return form;
  });
  onSubmit("publish-form", () => {
    const body = { message: value("publish-message") };
    if (value("publish-subject")) body.subject = value("publish-subject");
    act((r) => `published ${r.messageId}`, "POST", `/_sandbox/topics/${enc(value("publish-topic"))}/messages`, body);
  });
  onSubmit("put-event-form", () => {
    let detail;
    try { detail = jsonField("event-detail"); } catch (e) { notice(e.message, true); return; }
    act((r) => (r.FailedEntryCount ? `failed: ${JSON.stringify(r.Entries)}` : `put ${r.Entries[0].EventId}`), "POST",
      `/_sandbox/buses/${enc(value("event-bus"))}/events`,
      { entries: [{ Source: value("event-source"), DetailType: value("event-detail-type"), Detail: JSON.stringify(detail) }] });
  });
  onSubmit("replay-form", (form) => {
    act((r) => `replay ${r.name || value("replay-name")}: ${r.state || "started"}`, "POST", `/_sandbox/buses/${enc(form.dataset.bus)}/replays`,
      { name: value("replay-name"), archive: form.dataset.archive, from: value("replay-from"), to: value("replay-to") });
  });
  onSubmit("put-record-form", () => {
    const data = btoa(String.fromCharCode(...new TextEncoder().encode(value("record-data"))));
    act((r) => `put ${r.sequenceNumber} on ${r.shardId}`, "POST", `/_sandbox/streams/${enc(value("record-stream"))}/records`,
      { partitionKey: value("record-key"), data });
  });
  onSubmit("try-form", async () => {
    const out = document.getElementById("try-result");
    const init = { method: value("try-method") };
    if (value("try-body") && init.method !== "GET") {
      init.body = value("try-body");
      init.headers = { "Content-Type": "application/json" };
    }
    try {
      const response = await fetch(value("try-path"), init);
      out.textContent = `${response.status} ${response.statusText}\n${pretty(await response.text())}`;
    } catch (e) {
      out.textContent = e.message;
    }
    out.hidden = false;
  });
  document.getElementById("peek-close").addEventListener("click", () => { state.peekQueue = null; refresh(); });
}

/** Live updates: refetch when the sandbox says something changed. */
function listen() {
  const live = document.getElementById("live");
  const events = new EventSource("/_sandbox/events");
  events.addEventListener("open", () => { live.textContent = "live"; live.className = "badge live"; });
  events.addEventListener("error", () => { live.textContent = "offline"; live.className = "badge offline"; });
  events.addEventListener("changed", () => refresh());
  // On the system clock ages grow by themselves; look again now and then.
  setInterval(() => { if (state.clockMode === "system" && !document.hidden) refresh(); }, 5000);
}

wire();
refresh();
listen();
