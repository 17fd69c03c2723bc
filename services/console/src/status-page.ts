import type { CheckStatusSummary, StatusPage } from "@mirror/contracts";
import { formatPercent } from "./badges.js";
import { type Html, html } from "./html.js";

/**
 * What `/status/<slug>.json` answers: the listed checks' state (`maintenance` while a window
 * covers it), uptime and day bars, incident times when shown. Nothing else. Maintenance periods
 * count neither in uptime nor as incidents.
 */
export interface PublicStatus {
  title: string;
  checks: {
    name: string;
    status: string;
    uptime: { "24h": number | null; "7d": number | null; "30d": number | null; "90d": number | null };
    /** `maintenance`: part of the day was inside a maintenance window (not counted in `uptime`). */
    days: { date: string; uptime: number | null; maintenance: boolean }[];
    incidents: { start: string; end: string | null; durationMs: number }[];
  }[];
}

export function publicStatus(page: StatusPage, checks: CheckStatusSummary[]): PublicStatus {
  return {
    title: page.title,
    checks: checks.map((c) => ({
      name: c.name,
      status: c.maintenance ? "maintenance" : (c.state ?? "unknown"),
      uptime: { "24h": c.uptime["24h"], "7d": c.uptime["7d"], "30d": c.uptime["30d"], "90d": c.uptime["90d"] },
      days: c.days.map(({ date, uptime, maintenance }) => ({ date, uptime, maintenance })),
      incidents: page.showIncidents
        ? c.incidents.map(({ start, end, durationMs }) => ({ start, end, durationMs }))
        : [],
    })),
  };
}

const band = (u: number | null) =>
  u === null ? "none" : u >= 0.999 ? "100" : u >= 0.99 ? "99" : u >= 0.95 ? "95" : u >= 0.9 ? "90" : "0";
const pct = (u: number | null) => (u === null ? "no data" : formatPercent(u));

export function formatSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`;
}

const when = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

function bars(c: PublicStatus["checks"][number]): Html {
  return html`<div class="bars" role="list" aria-label="${c.name}: uptime per day, last ${c.days.length} days">${c.days.map(
    (d, i) => {
      const label = `${d.date}${i === c.days.length - 1 ? " (today)" : ""}: ${pct(d.uptime)}${d.maintenance ? " (maintenance)" : ""}`;
      // A day with maintenance and nothing else wrong is drawn as maintenance; a real outage keeps its colour.
      const cls = d.maintenance && (d.uptime === null || d.uptime >= 0.999) ? "maint" : band(d.uptime);
      return html`<span class="bar b-${cls}${d.maintenance ? " m" : ""}" role="listitem" tabindex="0" title="${label}" aria-label="${label}" data-tip="${label}"></span>`;
    },
  )}</div>`;
}

function check(c: PublicStatus["checks"][number], showIncidents: boolean): Html {
  const incidents = showIncidents
    ? c.incidents.length
      ? html`<ul class="incidents">${c.incidents.map((i) => html`<li>${i.end ? "" : html`<strong>ongoing</strong> `}${when(i.start)}${i.end ? html` – ${when(i.end)}` : ""} (${formatSpan(i.durationMs)})</li>`)}</ul>`
      : html`<p class="quiet">No incidents in the last ${c.days.length} days.</p>`
    : "";
  return html`<section class="check">
<h2><span class="dot s-${c.status}" aria-hidden="true"></span>${c.name} <span class="state s-${c.status}">${c.status}</span></h2>
<p class="uptime">Uptime: 24h ${pct(c.uptime["24h"])} · 7d ${pct(c.uptime["7d"])} · 30d ${pct(c.uptime["30d"])} · 90d ${pct(c.uptime["90d"])}</p>
${bars(c)}
<p class="axis"><span>${c.days[0]?.date ?? ""}</span><span>today</span></p>
${incidents}
</section>`;
}

/** The public page: server-rendered, readable without JavaScript, every value escaped by `html`. */
export function statusPageHtml(page: StatusPage, s: PublicStatus): string {
  const down = s.checks.filter((c) => c.status !== "up" && c.status !== "maintenance").length;
  const maint = s.checks.length - down - s.checks.filter((c) => c.status === "up").length;
  const summary = `${down === 0 ? "All systems up" : `${down} of ${s.checks.length} not up`}${maint ? ` · ${maint} in maintenance` : ""}`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${s.title}</title><link rel="stylesheet" href="/status.css"></head>
<body><main>
<h1>${s.title}</h1>
<p class="summary ${down ? "bad" : "good"}">${summary}</p>
${s.checks.map((c) => check(c, page.showIncidents))}
${s.checks.some((c) => c.days.some((d) => d.maintenance)) ? html`<p class="legend-m">Blue: planned maintenance, not counted as downtime.</p>` : ""}
<footer>Status page by MirrorOS · <a href="/status/${page.slug}.json">JSON</a></footer>
</main></body></html>`.text;
}

/** The status pages' stylesheet (the console's CSP allows styles only from its own origin). */
export const STATUS_CSS = `body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1d2329;background:#f6f7f9}
main{max-width:860px;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.6rem;margin:.2rem 0 .6rem}
.summary{padding:.7rem 1rem;border-radius:6px;font-weight:600;color:#fff}.summary.good{background:#2f9e44}.summary.bad{background:#d9480f}
.check{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
.check h2{font-size:1.1rem;margin:0 0 .3rem;display:flex;align-items:center;gap:.5rem}
.state{font-size:.8rem;font-weight:600;padding:.05rem .5rem;border-radius:1rem;background:#e9ecef}
.dot{width:.7rem;height:.7rem;border-radius:50%;background:#adb5bd}
.s-up.dot{background:#2f9e44}.s-down.dot{background:#e03131}.s-degraded.dot{background:#f59f00}.s-maintenance.dot{background:#1c7ed6}
.uptime{margin:.2rem 0 .5rem;color:#495057}
.bars{display:flex;gap:1px;height:34px;position:relative}
.bar{flex:1;border-radius:2px;min-width:2px;position:relative;outline-offset:1px}
.b-maint{background:#1c7ed6}.bar.m{box-shadow:inset 0 3px 0 #1c7ed6}.b-none{background:#dee2e6}.b-100{background:#2f9e44}.b-99{background:#8ce99a}.b-95{background:#fcc419}.b-90{background:#ff922b}.b-0{background:#e03131}
.bar:hover::after,.bar:focus::after{content:attr(data-tip);position:absolute;bottom:40px;left:50%;transform:translateX(-50%);white-space:nowrap;background:#212529;color:#fff;font-size:.8rem;padding:.2rem .45rem;border-radius:4px;z-index:2}
.axis{display:flex;justify-content:space-between;font-size:.75rem;color:#868e96;margin:.2rem 0}
.incidents{margin:.4rem 0 0;padding-left:1.2rem;font-size:.9rem}.quiet{color:#868e96;font-size:.9rem;margin:.4rem 0 0}
footer{color:#868e96;font-size:.8rem;margin-top:1.5rem}
.legend-m{color:#868e96;font-size:.8rem}
`;
