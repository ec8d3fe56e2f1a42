// outbound dashboard: sign in with an API token (kept in localStorage), then read the JSON API,
// polling it every POLL_MS. No framework and no build step: the DOM is built by hand.

const POLL_MS = 1500;
const TOKEN_KEY = "outbound.token";
const CAMPAIGN_STATUSES = ["scheduled", "running", "paused", "completed", "cancelled"];
const FINISHED = new Set(["completed", "cancelled"]);
const CALL_STATUSES = ["pending", "in_progress", "completed", "failed", "cancelled", "skipped"];
const TERMINAL = new Set(["completed", "failed", "cancelled", "skipped"]);
const OUTCOMES = ["answered", "no_answer", "busy", "voicemail", "failed"];
const CALLS_PAGE = 1000; // the API's largest page
const MAX_CALLS_READ = 10000; // calls read per refresh for the charts
const CALLS_SHOWN_STEP = 100; // rows added by "Show more"
const CAMPAIGNS_PAGE = 50;
const BUCKETS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
const MAX_BUCKETS = 40;
const DISPOSITION_TONES = 8; // --d0 ... --d7 in the stylesheet

const SVG_NS = "http://www.w3.org/2000/svg";

// ---------------------------------------------------------------------------------------------
// The API

class Unauthorized extends Error {}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function request(method, path, params = {}, token = localStorage.getItem(TOKEN_KEY)) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value != null && value !== "") url.searchParams.set(key, value);
  }
  const response = await fetch(url, {
    method,
    cache: "no-store",
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  if (response.status === 401) throw new Unauthorized("token rejected");
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body?.detail ?? response.statusText);
  return body;
}

const api = {
  campaigns: (status, limit) => request("GET", "/campaign", { status, limit }),
  campaign: (id) => request("GET", `/campaign/${encodeURIComponent(id)}`),
  transition: (id, verb) => request("POST", `/campaign/${encodeURIComponent(id)}/${verb}`),
  call: (id) => request("GET", `/call/${encodeURIComponent(id)}`),
  async calls(id) {
    const calls = [];
    let cursor = null;
    do {
      const page = await request("GET", `/campaign/${encodeURIComponent(id)}/calls`, {
        limit: CALLS_PAGE,
        cursor,
      });
      calls.push(...page.calls);
      cursor = page.next_cursor;
    } while (cursor && calls.length < MAX_CALLS_READ);
    return { calls, truncated: Boolean(cursor) };
  },
};

// ---------------------------------------------------------------------------------------------
// Building the DOM

function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "tone") el.style.setProperty("--tone", `var(--${value})`);
    else if (key === "width%") el.style.width = `${value}%`;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const label = (name) => name.replace(/_/g, " ");
const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

// An amount with its cents, and more digits only when it has them ($0.0125).
function money(cost) {
  if (!cost) return "—";
  const digits = Math.round(cost.amount * 100) / 100 === cost.amount ? 2 : 4;
  try {
    return new Intl.NumberFormat(undefined, {
      style: "currency", currency: cost.currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(cost.amount);
  } catch {
    return `${cost.amount.toFixed(digits)} ${cost.currency}`; // a currency code Intl does not know
  }
}

// A value of a result's data as text: text as it is, anything else as JSON.
function valueText(value) {
  if (value == null) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

// Dispositions are the playbook's own names: each gets a colour of its own, the same on every visit.
function dispositionTone(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `d${hash % DISPOSITION_TONES}`;
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

function badge(status, extra = "") {
  return h("span", { class: `badge ${status} ${extra}`, tone: status, "data-status": status }, label(status));
}

function progressOf(counts) {
  const total = counts.total ?? 0;
  const done = CALL_STATUSES.filter((s) => TERMINAL.has(s)).reduce((n, s) => n + (counts[s] ?? 0), 0);
  return { total, done, percent: total ? (100 * done) / total : 0 };
}

function progressBar(counts, big = false) {
  const { percent } = progressOf(counts);
  return h("div", { class: big ? "bar big" : "bar", role: "progressbar", "aria-valuenow": Math.round(percent) },
    h("div", { class: "fill", "width%": percent.toFixed(1) }));
}

// ---------------------------------------------------------------------------------------------
// Live indicator, sign in and out, routing

const app = () => document.getElementById("app");

function setLive(ok, message = "") {
  const live = document.getElementById("live");
  live.hidden = false;
  live.classList.toggle("offline", !ok);
  live.textContent = ok ? `live · updated ${new Date().toLocaleTimeString()}` : `offline · ${message}`;
}

function poll(tick) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    try {
      await tick();
      if (!stopped) setLive(true);
    } catch (error) {
      if (error instanceof Unauthorized) {
        signOut("The token was rejected: sign in again.");
        return;
      }
      if (!stopped) setLive(false, error.message);
    }
    if (!stopped) timer = setTimeout(run, POLL_MS);
  };
  run();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

let current = null; // the view on screen: { stop() }

function route() {
  current?.stop();
  current = null;
  const signedIn = Boolean(localStorage.getItem(TOKEN_KEY));
  document.getElementById("sign-out").hidden = !signedIn;
  if (!signedIn) {
    document.getElementById("live").hidden = true;
    current = signInView();
    return;
  }
  const match = window.location.hash.match(/^#\/campaign\/([0-9a-fA-F-]+)$/);
  current = match ? campaignView(match[1]) : listView();
}

function signOut(message = "") {
  localStorage.removeItem(TOKEN_KEY);
  route();
  if (message) document.getElementById("signin-error").textContent = message;
}

function signInView() {
  const input = h("input", {
    id: "token", type: "password", autocomplete: "off", spellcheck: "false",
    placeholder: "ob_…", "aria-label": "API token", required: true,
  });
  const error = h("p", { id: "signin-error", class: "error", role: "alert" });
  const submit = h("button", { class: "primary", type: "submit" }, "Sign in");
  const form = h("form", {
    async onsubmit(event) {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      submit.disabled = true;
      error.textContent = "";
      try {
        await request("GET", "/campaign", { limit: 1 }, token);
        localStorage.setItem(TOKEN_KEY, token);
        route();
      } catch (failure) {
        error.textContent = failure instanceof Unauthorized
          ? "This token was not accepted."
          : `Could not reach the server: ${failure.message}`;
      } finally {
        submit.disabled = false;
      }
    },
  }, input, submit);
  app().replaceChildren(h("section", { class: "signin card" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste an API token: ", h("code", {}, "outbound serve"), " prints one on its first start, ",
      h("code", {}, "outbound token create"), " makes more. It stays in this browser."),
    form, error));
  input.focus();
  return { stop() {} };
}

// ---------------------------------------------------------------------------------------------
// Campaigns list

function listView() {
  let limit = CAMPAIGNS_PAGE;
  let status = "";
  const rows = h("tbody", { id: "campaign-rows" });
  const empty = h("p", { class: "empty", hidden: true },
    "No campaigns yet. Create one with ", h("code", {}, "POST /campaign"), " or ",
    h("code", {}, "outbound campaign create"), ".");
  const more = h("button", { class: "more", hidden: true, onclick() { limit += CAMPAIGNS_PAGE; refresh(); } },
    "Show more");
  const filter = h("select", {
    id: "status-filter", "aria-label": "Status",
    onchange() { status = filter.value; refresh(); },
  }, h("option", { value: "" }, "All statuses"), CAMPAIGN_STATUSES.map((s) => h("option", { value: s }, label(s))));

  app().replaceChildren(h("section", {},
    h("div", { class: "toolbar" }, h("h1", {}, "Campaigns"), h("span", { class: "spacer" }), filter),
    h("div", { class: "card table-card" },
      h("table", { class: "campaigns" },
        h("thead", {}, h("tr", {}, ["Created", "Campaign", "Status", "Progress", "Calls", "Launch"].map((t) => h("th", {}, t)))),
        rows),
      empty),
    more));

  let generation = 0;
  async function refresh() {
    const mine = ++generation;
    const page = await api.campaigns(status, Math.min(limit, 200));
    if (mine !== generation) return;
    rows.replaceChildren(...page.campaigns.map(campaignRow));
    empty.hidden = page.campaigns.length > 0;
    more.hidden = !page.next_cursor || limit >= 200;
  }
  return poll(refresh);
}

function campaignRow(campaign) {
  const { total, done } = progressOf(campaign.counts);
  const href = `#/campaign/${campaign.campaign_id}`;
  const counts = CALL_STATUSES.filter((s) => campaign.counts[s])
    .map((s) => h("span", { class: "chip", tone: s }, `${label(s)} ${campaign.counts[s]}`));
  return h("tr", { "data-campaign-id": campaign.campaign_id, onclick() { window.location.hash = href; } },
    h("td", { class: "muted" }, when(campaign.created_at)),
    h("td", {}, h("a", { href, class: "mono", title: campaign.campaign_id }, campaign.campaign_id.slice(0, 8))),
    h("td", {}, badge(campaign.status)),
    h("td", {}, h("div", { class: "progress-cell" }, progressBar(campaign.counts), h("span", {}, `${done}/${total}`))),
    h("td", {}, counts.length ? counts : h("span", { class: "muted" }, "none")),
    h("td", { class: "muted" }, campaign.launch_at ? when(campaign.launch_at) : "at once"));
}

// ---------------------------------------------------------------------------------------------
// One campaign

function campaignView(id) {
  let shown = CALLS_SHOWN_STEP;
  let lastCalls = null;
  let generation = 0; // a poll that started before an action must not undo what it shows

  const status = h("span", { id: "campaign-status" });
  const actionError = h("p", { id: "action-error", class: "error", role: "alert" });
  const buttons = {
    pause: h("button", { "data-action": "pause", type: "button" }, "Pause"),
    resume: h("button", { "data-action": "resume", type: "button" }, "Resume"),
    cancel: h("button", { "data-action": "cancel", type: "button", class: "danger" }, "Cancel"),
  };
  const meta = h("p", { class: "meta", id: "campaign-meta" });
  const overallBar = h("div", { class: "overall-bar" });
  const overallText = h("span", { id: "progress-text" });
  const counts = h("div", { class: "counts", id: "counts" });
  const outcomeChart = h("div", { class: "chart", id: "outcome-chart" });
  const timelineChart = h("div", { class: "chart", id: "timeline-chart" });
  const rate = h("p", { class: "rate", id: "attempt-rate" });
  const dispositionChart = h("div", { class: "chart", id: "disposition-chart" });
  const cost = h("span", { class: "n", id: "campaign-cost" }, "—");
  const costNote = h("span", { class: "label", id: "cost-note" });
  const callRows = h("tbody", { id: "call-rows" });
  const drawer = h("aside", { class: "drawer", id: "call-detail", hidden: true, "aria-label": "Call details" });
  let openCallId = null; // the call shown in the drawer
  let openCall = null; // and what was last read of it
  const callsNote = h("span", { class: "muted", id: "calls-note" });
  const more = h("button", { class: "more", hidden: true, onclick() { shown += CALLS_SHOWN_STEP; renderCalls(); } },
    "Show more");

  for (const [verb, button] of Object.entries(buttons)) {
    button.addEventListener("click", async () => {
      if (verb === "cancel" && !window.confirm("Cancel this campaign? Calls not yet finished will not be made.")) return;
      generation += 1;
      Object.values(buttons).forEach((b) => { b.disabled = true; });
      actionError.textContent = "";
      try {
        renderCampaign(await api.transition(id, verb));
      } catch (error) {
        if (error instanceof Unauthorized) return signOut("The token was rejected: sign in again.");
        actionError.textContent = `Could not ${verb}: ${error.message}`;
        renderCampaign(await api.campaign(id));
      }
    });
  }

  app().replaceChildren(h("section", {},
    h("a", { class: "back", href: "#/" }, "← Campaigns"),
    h("div", { class: "title-row" },
      h("h1", {}, "Campaign ", h("span", { class: "mono" }, id)), status,
      h("div", { class: "actions" }, buttons.pause, buttons.resume, buttons.cancel)),
    meta, actionError,
    h("div", { class: "overall" }, overallBar, overallText),
    counts,
    h("div", { class: "charts results" },
      h("div", { class: "card" }, h("h2", {}, "Dispositions ", h("span", { class: "hint" }, "· last answered attempt of each call")),
        dispositionChart),
      h("div", { class: "card cost" }, h("h2", {}, "Cost"), cost, costNote)),
    h("div", { class: "charts" },
      h("div", { class: "card" }, h("h2", {}, "Attempt outcomes"), outcomeChart),
      h("div", { class: "card" }, h("h2", {}, "Attempts over time"), timelineChart, rate)),
    h("div", { class: "card" },
      h("h2", {}, "Calls ", callsNote),
      h("table", { class: "calls" },
        h("thead", {}, h("tr", {}, ["Phone", "Status", "Disposition", "Attempts", "Next attempt"].map((t) => h("th", {}, t)))),
        callRows),
      more),
    drawer));

  function renderCampaign(campaign) {
    status.replaceChildren(badge(campaign.status, "big"));
    buttons.pause.disabled = !["scheduled", "running"].includes(campaign.status);
    buttons.resume.disabled = campaign.status !== "paused";
    buttons.cancel.disabled = FINISHED.has(campaign.status);
    const parts = [`created ${when(campaign.created_at)}`];
    if (campaign.launch_at) parts.push(`launch ${when(campaign.launch_at)}`);
    if (campaign.started_at) parts.push(`started ${when(campaign.started_at)}`);
    if (campaign.finished_at) parts.push(`finished ${when(campaign.finished_at)}`);
    parts.push(campaign.recall.length ? `recall after ${campaign.recall.join(", ")} min` : "no recall");
    meta.textContent = parts.join(" · ");
    const { total, done, percent } = progressOf(campaign.counts);
    overallBar.replaceChildren(progressBar(campaign.counts, true));
    overallText.textContent = `${done} of ${plural(total, "call")} finished (${Math.round(percent)}%)`;
    counts.replaceChildren(
      countCard("total", total, "ink"),
      ...CALL_STATUSES.map((s) => countCard(s, campaign.counts[s] ?? 0, s)));
    dispositionChart.replaceChildren(...dispositionBars(campaign.dispositions ?? {}));
    cost.textContent = money(campaign.cost);
    costNote.textContent = campaign.cost ? "every attempt, summed" : "no cost reported yet";
  }

  function renderCalls() {
    if (!lastCalls) return;
    const { calls, truncated } = lastCalls;
    callRows.replaceChildren(...calls.slice(0, shown).map((call) => callRow(call, openDetail, call.call_id === openCallId)));
    more.hidden = calls.length <= shown;
    callsNote.textContent = `· ${plural(calls.length, "call")}${truncated ? " (first ones only)" : ""}`;
    const attempts = calls.flatMap((call) => call.attempts);
    outcomeChart.replaceChildren(outcomeBars(attempts));
    timelineChart.replaceChildren(...timeline(attempts));
    const minuteAgo = Date.now() - 60000;
    const recent = attempts.filter((a) => new Date(a.started_at).getTime() >= minuteAgo).length;
    rate.textContent = `${plural(recent, "attempt")} in the last minute · ${plural(attempts.length, "attempt")} in all`;
  }

  let finishedAndRead = false;
  async function refresh() {
    const mine = generation;
    const campaign = await api.campaign(id);
    // the calls of a finished campaign no longer change: read them one last time
    const calls = finishedAndRead ? null : await api.calls(id);
    if (mine !== generation) return;
    renderCampaign(campaign);
    if (calls) {
      lastCalls = calls;
      renderCalls();
      finishedAndRead = FINISHED.has(campaign.status);
    }
    if (openCall && unsettled(openCall)) await loadDetail();
  }

  // The drawer: one call's attempts with their results, transcripts included (GET /call/{id}).
  function openDetail(callId) {
    openCallId = callId;
    openCall = null;
    drawer.hidden = false;
    drawer.replaceChildren(h("p", { class: "muted" }, "Reading the call…"));
    markSelected();
    loadDetail();
  }

  function closeDetail() {
    openCallId = null;
    openCall = null;
    drawer.hidden = true;
    markSelected();
  }

  function markSelected() {
    for (const row of callRows.children) row.classList.toggle("selected", row.dataset.callId === openCallId);
  }

  async function loadDetail() {
    const wanted = openCallId;
    try {
      const call = await api.call(wanted);
      if (wanted !== openCallId) return; // another call was opened meanwhile
      const changed = JSON.stringify(call) !== JSON.stringify(openCall);
      openCall = call;
      if (changed) drawer.replaceChildren(...callDetail(call, closeDetail));
    } catch (error) {
      if (error instanceof Unauthorized) return signOut("The token was rejected: sign in again.");
      if (wanted !== openCallId) return;
      drawer.replaceChildren(
        h("button", { class: "quiet close", type: "button", "aria-label": "Close", onclick: closeDetail }, "×"),
        h("p", { class: "error" }, `Could not read this call: ${error.message}`));
    }
  }

  const onKey = (event) => { if (event.key === "Escape" && !drawer.hidden) closeDetail(); };
  document.addEventListener("keydown", onKey);

  const poller = poll(async () => {
    try {
      await refresh();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        app().replaceChildren(h("section", { class: "card empty" }, "No such campaign. ",
          h("a", { href: "#/" }, "Back to the campaigns")));
        poller.stop();
        return;
      }
      throw error;
    }
  });
  return {
    stop() {
      poller.stop();
      document.removeEventListener("keydown", onKey);
    },
  };
}

function countCard(name, n, tone) {
  return h("div", { class: "card count", tone, "data-count": name },
    h("span", { class: "n" }, n.toLocaleString()), h("span", { class: "label" }, label(name)));
}

// A call's result may still come: while it is not over, or an ended attempt has none yet.
function unsettled(call) {
  return !TERMINAL.has(call.status) || call.attempts.some((a) => a.ended_at && !a.result);
}

function lastAnswered(call) {
  const answered = call.attempts.filter((a) => a.outcome === "answered");
  return answered.length ? answered[answered.length - 1] : null;
}

function dispositionChip(name) {
  return h("span", { class: "chip", tone: dispositionTone(name), "data-disposition": name }, name);
}

function callRow(call, open, selected) {
  const attempts = call.attempts.map((a) => {
    const outcome = a.outcome ?? "in_flight";
    const title = `attempt ${a.number}: started ${when(a.started_at)}${a.ended_at ? `, ended ${when(a.ended_at)}` : ""}${a.error ? ` (${a.error})` : ""}`;
    return h("span", { class: "chip", tone: outcome, title, "data-outcome": outcome },
      `#${a.number} ${a.outcome ? label(a.outcome) : "ringing…"} · ${new Date(a.started_at).toLocaleTimeString()}`);
  });
  let next = "";
  if (call.status === "pending" && call.next_attempt_at) next = when(call.next_attempt_at);
  else if (call.skip_reason) next = `skipped: ${label(call.skip_reason)}`;
  const disposition = lastAnswered(call)?.result?.disposition;
  return h("tr", { "data-call-id": call.call_id, class: selected ? "selected" : null, onclick() { open(call.call_id); } },
    h("td", {}, h("button", { class: "link phone", type: "button", title: "Show the attempts and results" }, call.phone)),
    h("td", {}, badge(call.status)),
    h("td", {}, disposition ? dispositionChip(disposition) : h("span", { class: "muted" }, "—")),
    h("td", {}, attempts.length ? attempts : h("span", { class: "muted" }, "none yet")),
    h("td", { class: "muted" }, next));
}

// ---------------------------------------------------------------------------------------------
// One call's attempts and what they achieved

function callDetail(call, close) {
  const attempts = call.attempts.length
    ? [...call.attempts].reverse().map(attemptDetail) // the latest, which decided the call, first
    : [h("p", { class: "empty" }, "No attempt yet.")];
  return [
    h("div", { class: "drawer-head" },
      h("div", {}, h("h2", {}, "Call"), h("div", { class: "phone big" }, call.phone)),
      badge(call.status),
      h("button", { class: "quiet close", type: "button", "aria-label": "Close", onclick: close }, "×")),
    h("p", { class: "muted mono" }, call.call_id),
    ...attempts,
  ];
}

function attemptDetail(attempt) {
  const times = [`started ${when(attempt.started_at)}`];
  if (attempt.ended_at) {
    const seconds = (new Date(attempt.ended_at) - new Date(attempt.started_at)) / 1000;
    times.push(`${seconds.toFixed(1)} s`);
  }
  const section = h("section", { class: "attempt", "data-attempt": attempt.number },
    h("div", { class: "attempt-head" },
      h("strong", {}, `Attempt ${attempt.number}`),
      h("span", { class: "chip", tone: attempt.outcome ?? "in_flight" }, attempt.outcome ? label(attempt.outcome) : "in progress"),
      h("span", { class: "muted" }, times.join(" · "))));
  const result = attempt.result;
  if (!result) {
    section.append(h("p", { class: "muted" }, attempt.ended_at ? "No result reported." : "The call is not over yet."));
    return section;
  }
  section.append(h("dl", { class: "facts" }, facts(result)));
  if (result.summary) section.append(h("p", { class: "summary" }, result.summary));
  const data = Object.entries(result.data ?? {});
  if (data.length) {
    section.append(h("h3", {}, "Data"), h("dl", { class: "data" },
      data.flatMap(([name, value]) => [h("dt", {}, name), h("dd", { "data-field": name }, valueText(value))])));
  }
  const turns = result.transcript ?? [];
  if (turns.length) {
    section.append(h("h3", {}, "Transcript"), h("ol", { class: "transcript" }, turns.map((turn) => {
      const side = ["agent", "contact"].includes(turn.role) ? turn.role : "other";
      return h("li", { class: `turn ${side}`, "data-role": turn.role },
        h("span", { class: "role" }, turn.role, turn.at_s != null ? ` · ${turn.at_s.toFixed(1)} s` : ""),
        h("p", {}, turn.text));
    })));
  }
  if (result.truncated) section.append(h("p", { class: "muted" }, "This result was cut to the size limits."));
  return section;
}

function facts(result) {
  const rows = [];
  const fact = (name, value) => rows.push(h("dt", {}, name), h("dd", {}, value));
  if (result.disposition) fact("disposition", dispositionChip(result.disposition));
  if (result.cost) fact("cost", money(result.cost));
  if (result.ended_reason) fact("end reason", result.ended_reason);
  if (result.callback_at) fact("call back", when(result.callback_at));
  if (result.voicemail_left != null) fact("voicemail left", result.voicemail_left ? "yes" : "no");
  if (result.success != null) fact("success", result.success ? "yes" : "no");
  if (result.recording_url) {
    const safe = /^https?:\/\//i.test(result.recording_url); // never a javascript: link
    fact("recording", safe
      ? h("a", { href: result.recording_url, target: "_blank", rel: "noopener noreferrer" }, "listen")
      : result.recording_url);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Charts (inline SVG, or CSS bars where labels are the user's own and of any length)

function dispositionBars(dispositions) {
  const entries = Object.entries(dispositions).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  if (!entries.length) return [h("p", { class: "empty" }, "No dispositions yet: answered calls bring them.")];
  const total = entries.reduce((n, [, count]) => n + count, 0);
  const most = entries[0][1];
  return [h("div", { class: "hbars", role: "list", "aria-label": "Calls by disposition" },
    entries.map(([name, count]) => {
      const share = Math.round((100 * count) / total);
      return h("div", {
        class: "hbar", role: "listitem", "data-disposition": name, "data-count": count,
        title: `${name}: ${plural(count, "call")} (${share}%)`,
      },
        h("span", { class: "name" }, name),
        h("span", { class: "track" }, h("span", { class: "fill", tone: dispositionTone(name), "width%": ((100 * count) / most).toFixed(1) })),
        h("span", { class: "value" }, `${count.toLocaleString()} · ${share}%`));
    }))];
}

function outcomeBars(attempts) {
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
  for (const attempt of attempts) if (attempt.outcome in counts) counts[attempt.outcome] += 1;
  const finished = Object.values(counts).reduce((a, b) => a + b, 0);
  const most = Math.max(1, ...Object.values(counts));
  const width = 440;
  const row = 30;
  const left = 92;
  const right = 70;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${row * OUTCOMES.length}`, role: "img", "aria-label": "Attempt outcomes" });
  OUTCOMES.forEach((outcome, index) => {
    const y = index * row;
    const length = ((width - left - right) * counts[outcome]) / most;
    const share = finished ? Math.round((100 * counts[outcome]) / finished) : 0;
    chart.append(
      svg("text", { x: 0, y: y + 19 }, label(outcome)),
      svg("rect", { x: left, y: y + 7, width: width - left - right, height: 16, rx: 4, fill: "#eef0f5" }),
      svg("rect", {
        x: left, y: y + 7, width: Math.max(length, counts[outcome] ? 3 : 0), height: 16, rx: 4,
        fill: `var(--${outcome})`, "data-outcome": outcome, "data-count": counts[outcome],
      }),
      svg("text", { x: width - right + 8, y: y + 19, class: "axis" }, `${counts[outcome]} · ${share}%`));
  });
  return chart;
}

function timeline(attempts) {
  if (!attempts.length) return [h("p", { class: "empty" }, "No attempts yet.")];
  const times = attempts.map((a) => new Date(a.started_at).getTime());
  const first = Math.min(...times);
  const last = Math.max(...times);
  const span = Math.max(1000, last - first);
  const bucketS = BUCKETS_S.find((b) => span / (b * 1000) <= MAX_BUCKETS) ?? BUCKETS_S[BUCKETS_S.length - 1];
  const bucketMs = bucketS * 1000;
  const start = Math.floor(first / bucketMs) * bucketMs;
  const count = Math.floor((last - start) / bucketMs) + 1;
  const series = [...OUTCOMES, "in_flight"];
  const buckets = Array.from({ length: count }, () => Object.fromEntries(series.map((s) => [s, 0])));
  attempts.forEach((attempt, index) => {
    const bucket = Math.min(count - 1, Math.floor((times[index] - start) / bucketMs));
    buckets[bucket][attempt.outcome ?? "in_flight"] += 1;
  });
  const totals = buckets.map((b) => series.reduce((n, s) => n + b[s], 0));
  const peak = Math.max(1, ...totals);

  const width = 600;
  const height = 170;
  const pad = { top: 10, right: 8, bottom: 22, left: 30 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = plotW / count;
  const barW = Math.max(2, Math.min(36, slot * 0.72));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Attempts over time" });
  chart.append(
    svg("line", { x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH, stroke: "#d5d9e3" }),
    svg("line", { x1: pad.left, x2: width - pad.right, y1: pad.top, y2: pad.top, stroke: "#eef0f5", "stroke-dasharray": "3 3" }),
    svg("text", { x: pad.left - 6, y: pad.top + 4, "text-anchor": "end", class: "axis" }, String(peak)),
    svg("text", { x: pad.left - 6, y: pad.top + plotH, "text-anchor": "end", class: "axis" }, "0"));
  buckets.forEach((bucket, index) => {
    let y = pad.top + plotH;
    const x = pad.left + index * slot + (slot - barW) / 2;
    for (const name of series) {
      if (!bucket[name]) continue;
      const barH = (plotH * bucket[name]) / peak;
      y -= barH;
      chart.append(svg("rect", {
        x, y, width: barW, height: barH, fill: `var(--${name})`, class: "attempt-bar",
      }, svg("title", {}, `${bucket[name]} ${label(name)} at ${new Date(start + index * bucketMs).toLocaleTimeString()}`)));
    }
  });
  const tick = (index, anchor) => svg("text", {
    x: pad.left + index * slot + slot / 2, y: height - 6, "text-anchor": anchor, class: "axis",
  }, new Date(start + index * bucketMs).toLocaleTimeString());
  chart.append(tick(0, "start"));
  if (count > 1) chart.append(tick(count - 1, "end"));
  const every = bucketS < 60 ? `${bucketS} s` : bucketS < 3600 ? `${bucketS / 60} min` : `${bucketS / 3600} h`;
  const legend = h("div", { class: "legend" },
    series.map((s) => h("span", {}, h("i", { tone: s }), s === "in_flight" ? "in progress" : label(s))),
    h("span", { class: "muted" }, `· one bar per ${every}`));
  return [chart, legend];
}

// ---------------------------------------------------------------------------------------------

document.getElementById("sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", route);
route();
