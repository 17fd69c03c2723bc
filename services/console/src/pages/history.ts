import {
  HISTORY_WINDOWS,
  Severity,
  type HistoryCheckReply,
  type HistoryRepoReply,
  type HistoryTrendReply,
  type ResponsePoint,
  type TrendDay,
} from "@mirror/contracts";
import { formatPercent } from "../badges.js";
import { type Html, html } from "../html.js";
import { formatSpan } from "../status-page.js";

const W = 720;
const H = 200;
const PAD = { l: 48, r: 8, t: 8, b: 22 };
const WINDOW_MS: Record<string, number> = {
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
  "90d": 90 * 86_400_000,
  "365d": 365 * 86_400_000,
};

const pct = (u: number | null) => (u === null ? "–" : formatPercent(u));
const n1 = (v: number) => Math.round(v * 10) / 10;

/** Response time drawn server-side as SVG: the min–max band, the mean and p95 lines, a ms axis. */
export function responseChart(series: ResponsePoint[], window: string, now: number): Html {
  if (series.length === 0) return html`<p class="muted">No response times in this window.</p>`;
  const from = now - (WINDOW_MS[window] ?? (WINDOW_MS["24h"] as number));
  const top = Math.max(1, ...series.map((p) => p.max)) * 1.1;
  const x = (t: string) => n1(PAD.l + ((Date.parse(t) - from) / (now - from)) * (W - PAD.l - PAD.r));
  const y = (v: number) => n1(H - PAD.b - (v / top) * (H - PAD.t - PAD.b));
  const line = (f: (p: ResponsePoint) => number) => series.map((p) => `${x(p.t)},${y(f(p))}`).join(" ");
  const band = [
    ...series.map((p) => `${x(p.t)},${y(p.max)}`),
    ...[...series].reverse().map((p) => `${x(p.t)},${y(p.min)}`),
  ].join(" ");
  const ticks = [0, top / 2, top].map(
    (v) =>
      html`<text x="${PAD.l - 4}" y="${y(v) + 4}" text-anchor="end" font-size="10" fill="#666">${Math.round(v)} ms</text><line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
  );
  return html`<figure class="chart"><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Response time over ${window}: mean and p95, with the min-max band">
${ticks}<polygon points="${band}" fill="#4dabf7" fill-opacity="0.18"/><polyline points="${line((p) => p.p95)}" fill="none" stroke="#f76707" stroke-width="1.2"/><polyline points="${line((p) => p.avg)}" fill="none" stroke="#1c7ed6" stroke-width="1.5"/>${series.length < 3 ? series.map((p) => html`<circle cx="${x(p.t)}" cy="${y(p.avg)}" r="3" fill="#1c7ed6"><title>${p.t}: mean ${p.avg} ms, p95 ${p.p95} ms</title></circle>`) : ""}
<text x="${PAD.l}" y="${H - 6}" font-size="10" fill="#666">${new Date(from).toISOString().slice(0, 16).replace("T", " ")}</text><text x="${W - PAD.r}" y="${H - 6}" font-size="10" fill="#666" text-anchor="end">now</text>
</svg><figcaption class="muted">Blue: mean, orange: p95, band: min–max (ms) per bucket.</figcaption></figure>`;
}

/** One check's history: uptime per window, the response-time chart and the incident list. */
export function checkHistoryPage(h: HistoryCheckReply, now: number): Html {
  const base = `/services/${encodeURIComponent(h.name)}/history`;
  return html`<h1>${h.name} <span class="state-${h.state ?? "unknown"} status">${h.state ?? "unknown"}</span>${h.maintenance ? html` <span class="status maintenance">maintenance</span>` : ""}</h1>
${h.removed ? html`<p class="banner" role="status">This check is no longer configured; its history stays until its retention ends.</p>` : ""}
<table><thead><tr>${HISTORY_WINDOWS.map((w) => html`<th>Uptime ${w}</th>`)}</tr></thead><tbody><tr>${HISTORY_WINDOWS.map((w) => html`<td>${pct(h.uptime[w])}</td>`)}</tr></tbody></table>
<p class="muted">Results inside a maintenance window are not counted in uptime; down periods in one are listed below as maintenance, not as incidents.</p>
<h2>Response time</h2>
<p>${HISTORY_WINDOWS.map((w) => html`<a href="${base}?window=${w}" ${w === h.window ? html`aria-current="page"` : ""}>${w}</a> `)}</p>
${responseChart(h.series, h.window, now)}
<h2>Incidents (${h.window})</h2>
${
  h.incidents.length
    ? html`<table><thead><tr><th>Start</th><th>End</th><th>Duration</th><th>State</th><th class="wide">First error</th><th>Loop</th></tr></thead><tbody>${h.incidents.map(
        (i) =>
          html`<tr><td>${i.start.slice(0, 19).replace("T", " ")}</td><td>${i.end ? i.end.slice(0, 19).replace("T", " ") : "ongoing"}</td><td>${formatSpan(i.durationMs)}</td><td class="state-${i.state} status">${i.state}${i.maintenance ? html` <span class="maintenance">(maintenance)</span>` : ""}</td><td class="wide">${i.firstError ?? ""}</td><td>${i.loopId ? html`<a href="/loops/${encodeURIComponent(i.loopId)}">loop</a>` : ""}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No incidents in this window.</p>`
}`;
}

const PALETTE = ["#1c7ed6", "#f76707", "#37b24d", "#ae3ec9", "#f59f00", "#0ca678", "#e64980", "#495057"];
const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const bySeverity = (d: TrendDay, kind: string) =>
  Object.entries(d.open[kind] ?? {})
    .map(([sev, n]) => `${sev} ${n}`)
    .join(", ");
/** Open loops of a day by severity over every kind, most severe first. */
const severities = (d: TrendDay) => {
  const sum: Record<string, number> = {};
  for (const bySev of Object.values(d.open))
    for (const [sev, n] of Object.entries(bySev ?? {})) sum[sev] = (sum[sev] ?? 0) + (n ?? 0);
  return [...Severity.options]
    .reverse()
    .filter((sev) => sum[sev])
    .map((sev) => `${sev} ${sum[sev]}`)
    .join(" · ");
};
const openOf = (d: TrendDay, kind: string) =>
  Object.values(d.open[kind] ?? {}).reduce((a: number, b) => a + (b ?? 0), 0);

/**
 * The maintenance trend as SVG: loops open at the end of each day stacked by kind, with the
 * loops opened (green) and closed (dark) that day as lines. `standalone` makes a whole SVG
 * document (the Overview embeds it as an image), with its legend drawn inside.
 */
export function trendChart(t: HistoryTrendReply, standalone = false): Html {
  const kinds = [...new Set(t.days.flatMap((d) => Object.keys(d.open)))].sort();
  const top = Math.max(1, ...t.days.map((d) => Math.max(d.openTotal, total(d.opened), total(d.closed))));
  const bw = (W - PAD.l - PAD.r) / Math.max(1, t.days.length);
  const y = (v: number) => n1(((H - PAD.t - PAD.b) * v) / top);
  const bars = t.days.map((d, i) => {
    let base = H - PAD.b;
    return kinds.map((k, j) => {
      const h = y(openOf(d, k));
      base -= h;
      return h > 0
        ? html`<rect x="${n1(PAD.l + i * bw)}" y="${n1(base)}" width="${n1(Math.max(1, bw - 1))}" height="${h}" fill="${PALETTE[j % PALETTE.length]}"><title>${d.date} ${k}: ${openOf(d, k)} open (${bySeverity(d, k)})</title></rect>`
        : "";
    });
  });
  const line = (f: (d: TrendDay) => number) =>
    t.days.map((d, i) => `${n1(PAD.l + (i + 0.5) * bw)},${n1(H - PAD.b - y(f(d)))}`).join(" ");
  const flows =
    t.days.length > 1
      ? html`<polyline points="${line((d) => total(d.opened))}" fill="none" stroke="#2f9e44" stroke-width="1.2"/><polyline points="${line((d) => total(d.closed))}" fill="none" stroke="#343a40" stroke-width="1.2" stroke-dasharray="3 2"/>`
      : "";
  const legend = standalone
    ? [
        ...kinds.map((k, j) => ({ label: k, color: PALETTE[j % PALETTE.length] as string })),
        { label: "opened", color: "#2f9e44" },
        { label: "closed", color: "#343a40" },
      ].map(
        (l, i) =>
          html`<rect x="${PAD.l + (i % 6) * 110}" y="${H + 6 + Math.floor(i / 6) * 14}" width="9" height="9" fill="${l.color}"/><text x="${PAD.l + (i % 6) * 110 + 13}" y="${H + 14 + Math.floor(i / 6) * 14}" font-size="10" fill="#333">${l.label}</text>`,
      )
    : "";
  const height = standalone ? H + 12 + Math.ceil((kinds.length + 2) / 6) * 14 : H;
  return html`<svg ${standalone ? html`xmlns="http://www.w3.org/2000/svg" ` : ""}viewBox="0 0 ${W} ${height}" width="${standalone ? W : "100%"}" ${standalone ? html`height="${height}" ` : ""}role="img" aria-label="Open loops per day stacked by kind, with loops opened and closed per day, last ${t.days.length} days">
${standalone ? html`<rect width="${W}" height="${height}" fill="#fff"/>` : ""}<text x="${PAD.l - 4}" y="${PAD.t + 10}" text-anchor="end" font-size="10" fill="#666">${top}</text><text x="${PAD.l - 4}" y="${H - PAD.b}" text-anchor="end" font-size="10" fill="#666">0</text><line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" stroke="#ddd"/>${bars}${flows}
<text x="${PAD.l}" y="${H - 6}" font-size="10" fill="#666">${t.days[0]?.date ?? ""}</text><text x="${W - PAD.r}" y="${H - 6}" font-size="10" fill="#666" text-anchor="end">${t.days.at(-1)?.date ?? ""}</text>${legend}
</svg>`;
}

/** The maintenance trend: the chart, then the days as a table, newest first. */
export function trendPage(t: HistoryTrendReply): Html {
  const kinds = [...new Set(t.days.flatMap((d) => Object.keys(d.open)))].sort();
  const legend = kinds.map(
    (k, j) =>
      html`<span class="legend"><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${PALETTE[j % PALETTE.length]}"/></svg> ${k}</span> `,
  );
  const mean = (r: Record<string, number>) =>
    Object.keys(r).length ? formatSpan(total(r) / Object.keys(r).length) : "";
  const perKind = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([k, v]) => `${k} ${formatSpan(v)}`)
      .join(", ");
  return html`<h1>Maintenance trend</h1>
<p class="muted">Loops open at the end of each day (${t.timeZone}), last ${t.days.length} days.</p>
<figure class="chart" id="trend-chart">${trendChart(t)}<figcaption>${legend}<span class="legend">green line: opened, dashed: closed</span></figcaption></figure>
<table id="trend"><thead><tr><th>Day</th><th>Open</th><th class="wide">By severity</th><th>Opened</th><th>Closed</th><th>Mean to ack</th><th>Mean to close</th></tr></thead><tbody>${[
    ...t.days,
  ]
    .reverse()
    .map(
      (d) =>
        html`<tr><td>${d.date}</td><td title="${Object.keys(d.open)
          .map((k) => `${k}: ${bySeverity(d, k)}`)
          .join(
            "; ",
          )}">${d.openTotal}</td><td class="wide">${severities(d)}</td><td>${total(d.opened)}</td><td>${total(d.closed)}</td><td title="${perKind(d.meanAckMs)}">${mean(d.meanAckMs)}</td><td title="${perKind(d.meanCloseMs)}">${mean(d.meanCloseMs)}</td></tr>`,
    )}</tbody></table>`;
}

/** When a signal was true over the window: a thin timeline, one rect per period, oldest at the left. */
function signalTimeline(s: HistoryRepoReply["signals"][number], days: number, now: number): Html {
  const from = now - days * 86_400_000;
  const x = (iso: string | null) => n1((((iso ? Date.parse(iso) : now) - from) / (now - from)) * 300);
  return html`<svg viewBox="0 0 300 12" width="300" height="12" role="img" aria-label="${s.kind}: true ${formatPercent(s.ratio)} of the last ${days} days"><rect width="300" height="12" fill="#e9ecef"/>${s.periods.map(
    (p) =>
      html`<rect class="period" x="${x(p.start)}" width="${Math.max(1, n1(x(p.end) - x(p.start)))}" height="12" fill="#f76707"><title>${p.start.slice(0, 16).replace("T", " ")} – ${p.end ? p.end.slice(0, 16).replace("T", " ") : "now"}</title></rect>`,
  )}</svg>`;
}

/** A repository's signals: how long each was true in the window, longest first, whether it is now, and when. */
export function repoHistoryPage(r: HistoryRepoReply, now = r.at ? Date.parse(r.at) : Date.now()): Html {
  return html`<h1>${r.repo}</h1>
<p class="muted">How long each signal was true in the last ${r.days} days.</p>
${
  r.signals.length
    ? html`<table><thead><tr><th>Signal</th><th>Now</th><th>True for</th><th>Share</th><th class="wide">When (${r.days} days to now)</th></tr></thead><tbody>${r.signals.map(
        (s) =>
          html`<tr><td>${s.kind}</td><td>${s.open ? html`<strong>true</strong> since ${s.since?.slice(0, 16).replace("T", " ")}` : "false"}</td><td>${formatSpan(s.trueMs)}</td><td><meter min="0" max="1" value="${s.ratio}">${formatPercent(s.ratio)}</meter> ${formatPercent(s.ratio)}</td><td class="wide">${signalTimeline(s, r.days, now)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No signal was true in this window.</p>`
}`;
}
