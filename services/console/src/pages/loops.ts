import type { Loop } from "@mirror/contracts";
import { mayAct, type Principal } from "../auth.js";
import { type Html, html } from "../html.js";
import type { Fetched } from "../mesh.js";
import { ago, staleBanner } from "./layout.js";

export const SNOOZE_CHOICES = ["1h", "4h", "1d", "7d"] as const;
const STATUSES = ["active", "open", "acknowledged", "snoozed", "suppressed", "maintenance", "closed", "all"] as const;
export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;

/** What a loop is about, as text: the repo's path, the service's name or the probe site's name. */
export function entityLabel(loop: Loop): string {
  const e = loop.entity;
  return (e.type === "repo" ? e.repo : e.type === "site" ? e.site : e.service) ?? "?";
}

export interface LoopFilter {
  status: (typeof STATUSES)[number];
  kind?: string;
  severity?: string;
  q?: string;
}

/** Filters from the query string; anything unknown is ignored rather than refused. */
export function loopFilter(query: Record<string, unknown>): LoopFilter {
  const pick = (v: unknown) => (typeof v === "string" && v ? v.slice(0, 200) : undefined);
  const status = pick(query.status);
  const severity = pick(query.severity);
  return {
    status: STATUSES.includes(status as never) ? (status as LoopFilter["status"]) : "active",
    kind: pick(query.kind),
    severity: SEVERITIES.includes(severity as never) ? severity : undefined,
    q: pick(query.q),
  };
}

export function applyFilter(loops: Loop[], f: LoopFilter): Loop[] {
  const q = f.q?.toLowerCase();
  return loops.filter(
    (l) =>
      (f.status === "all" || (f.status === "active" ? l.status !== "closed" : l.status === f.status)) &&
      (!f.kind || l.kind === f.kind) &&
      (!f.severity || l.severity === f.severity) &&
      (!q || `${l.kind} ${entityLabel(l)} ${l.summary}`.toLowerCase().includes(q)),
  );
}

export function loopRows(loops: Loop[], now: number): Html {
  if (!loops.length) return html`<p class="muted">No loops.</p>`;
  return html`<table class="loops"><thead><tr><th>Loop</th><th>About</th><th class="wide">Since</th></tr></thead><tbody>
  ${loops.map(
    (
      l,
    ) => html`<tr><td><a href="/loops/${encodeURIComponent(l.id)}">${l.kind}</a><div><span class="sev-${l.severity}">${l.severity}</span> · <span class="status">${l.status}</span></div></td>
      <td class="about">${entityLabel(l)}<div class="muted">${l.summary}</div></td>
      <td class="wide">${ago(l.openedAt, now)}</td></tr>`,
  )}</tbody></table>`;
}

export function loopsPage(f: Fetched<Loop[]>, filter: LoopFilter, now: number): Html {
  const loops = applyFilter(f.data ?? [], filter);
  const kinds = [...new Set((f.data ?? []).map((l) => l.kind))].sort();
  const option = (value: string, current: string | undefined, label = value) =>
    html`<option value="${value}" ${value === (current ?? "") ? html`selected` : ""}>${label}</option>`;
  return html`<h1>Loops</h1>${staleBanner(f, now)}
  <form class="filters" method="get" action="/loops" role="search">
    <label>Status <select name="status">${STATUSES.map((s) => option(s, filter.status))}</select></label>
    <label>Kind <select name="kind">${option("", filter.kind, "any")}${kinds.map((k) => option(k, filter.kind))}</select></label>
    <label>Severity <select name="severity">${option("", filter.severity, "any")}${SEVERITIES.map((s) => option(s, filter.severity))}</select></label>
    <label>Text <input type="search" name="q" value="${filter.q ?? ""}"></label>
    <button type="submit">Filter</button>
  </form>
  ${loopRows(loops, now)}`;
}

function actions(loop: Loop, user: Principal): Html {
  if (!mayAct(user)) return html`<p class="muted">Your role (${user.role}) can read but not act.</p>`;
  const id = encodeURIComponent(loop.id);
  const button = (action: string, label: string) =>
    html`<form class="inline" method="post" action="/loops/${id}/${action}"><input type="hidden" name="_csrf" value="${user.csrf}"><button type="submit">${label}</button></form>`;
  const open = loop.status !== "closed";
  return html`<div class="actions">
    ${loop.status === "open" || loop.status === "suppressed" || loop.status === "maintenance" ? button("ack", "Acknowledge") : ""}
    ${
      open
        ? html`<form class="inline" method="post" action="/loops/${id}/snooze"><input type="hidden" name="_csrf" value="${user.csrf}">
        <label>for <select name="for">${SNOOZE_CHOICES.map((d) => html`<option value="${d}">${d}</option>`)}</select></label><button type="submit">Snooze</button></form>`
        : ""
    }
    ${open ? button("close", "Close") : ""}
    ${loop.status !== "open" && loop.status !== "suppressed" && loop.status !== "maintenance" ? button("reopen", "Reopen") : ""}
  </div>`;
}

/** The triage as plain text: model output is data, so it is escaped and its links are not links. */
function triage(loop: Loop, now: number): Html {
  const t = loop.triage;
  if (!t)
    return html`<p class="muted">No triage yet (asked when the loop opened; retried while no model adapter answers).</p>`;
  return html`<dl><dt>Adapter</dt><dd>${t.adapter} (${t.model}), ${ago(t.at, now)}</dd><dt>Severity</dt><dd class="sev-${t.severity}">${t.severity}</dd>
    <dt>Summary</dt><dd class="model-text">${t.summary}</dd><dt>Next action</dt><dd class="model-text">${t.nextAction}</dd></dl>`;
}

export function loopPage(f: Fetched<Loop>, user: Principal, now: number, notice?: string): Html {
  const loop = f.data;
  if (!loop) return html`<h1>Loop</h1>${staleBanner(f, now)}`;
  return html`<h1><span class="sev-${loop.severity}">${loop.severity}</span> ${loop.kind}</h1>${staleBanner(f, now)}
  ${notice ? html`<p class="banner error" role="alert">${notice}</p>` : ""}
  <dl>
    <dt>Status</dt><dd class="status" id="loop-status">${loop.status}${loop.snoozedUntil && loop.status === "snoozed" ? html` until ${loop.snoozedUntil}` : ""}</dd>
    <dt>About</dt><dd>${loop.entity.type}: ${entityLabel(loop)}</dd>
    <dt>Summary</dt><dd>${loop.summary}</dd>
    <dt>Open since</dt><dd>${loop.openedAt} (${ago(loop.openedAt, now)})</dd>
    ${loop.suppressedBy.length ? html`<dt>Suppressed by</dt><dd>${loop.suppressedBy.join(", ")}</dd>` : ""}
  </dl>
  ${actions(loop, user)}
  <h2>Evidence</h2><pre>${JSON.stringify(loop.evidence, null, 2)}</pre>
  <h2>Triage</h2>${triage(loop, now)}
  <h2>History</h2>
  <table id="history"><thead><tr><th>When</th><th>Change</th><th>By</th><th class="wide">Note</th></tr></thead><tbody>
  ${[...loop.history].reverse().map((h) => html`<tr><td>${h.at}</td><td>${h.from ?? "–"} → ${h.to}</td><td>${h.by}</td><td class="wide">${h.note ?? ""}</td></tr>`)}
  </tbody></table>`;
}
