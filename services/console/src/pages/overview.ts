import type { CheckSummary, HistoryTrendReply, Loop, ScanReposReply } from "@mirror/contracts";
import { type Html, html } from "../html.js";
import { trendChart } from "./history.js";
import type { Fetched } from "../mesh.js";
import { ago, staleBanner } from "./layout.js";
import { loopRows, SEVERITIES } from "./loops.js";
import { repoRows, reposOf } from "./repos.js";

/** The Overview; `trend` is the history's last 90 days (the chart links to /trend), undefined when it does not answer. */
export function overviewPage(
  loops: Fetched<Loop[]>,
  checks: Fetched<CheckSummary[]>,
  scanned: Fetched<ScanReposReply>,
  adapter: string,
  now: number,
  trend?: HistoryTrendReply,
): Html {
  const active = (loops.data ?? []).filter((l) => l.status !== "closed");
  const count = <T>(xs: T[], f: (x: T) => boolean) => xs.filter(f).length;
  const cs = checks.data ?? [];
  const repos = reposOf(active).filter((r) => r.signals.length);
  const last = scanned.data?.lastScanAt;
  const lastCheck = cs
    .map((c) => c.checkedAt ?? "")
    .sort()
    .at(-1);
  return html`<h1>Overview</h1>${staleBanner(loops, now)}${staleBanner(checks, now)}${staleBanner(scanned, now)}
  <div class="cards">
    ${SEVERITIES.map((sev) => html`<div class="card sev-${sev}"><b>${count(active, (l) => l.severity === sev)}</b>${sev} loops</div>`)}
    <div class="card state-up"><b>${count(cs, (c) => c.state === "up")}</b>services up</div>
    <div class="card state-down"><b>${count(cs, (c) => c.state === "down")}</b>services down</div>
    <div class="card state-degraded"><b>${count(cs, (c) => c.state === "degraded")}</b>degraded</div>
    <div class="card"><b>${repos.length}</b>repos need attention</div>
  </div>
  <p class="muted">Model adapter: ${adapter}. ${scanned.data ? `${scanned.data.repos.length} repos under ${scanned.data.roots} roots; ` : ""}${last ? `last scan ${ago(last, now)}` : "no scan finished yet"}; ${lastCheck ? `last check ${ago(lastCheck, now)}.` : "no check ran yet."}</p>
  <h2>Maintenance trend</h2>
  ${
    trend
      ? html`<figure class="chart" id="trend-chart"><a href="/trend" title="Maintenance trend, per day for 90 days">${trendChart(trend)}</a>
  <figcaption><a href="/trend">Trend page</a>: open loops by kind and severity, opened and closed, mean time to acknowledge and to close, per day.</figcaption></figure>`
      : html`<p class="muted">The history does not answer: no trend now. <a href="/trend">Trend page</a></p>`
  }
  <h2>Open loops</h2>${loopRows(
    active.filter((l) => l.status === "open"),
    now,
  )}
  <h2>Repos needing attention</h2>${repoRows(repos, now)}`;
}
