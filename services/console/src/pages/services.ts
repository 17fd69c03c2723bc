import type { CheckStatusSummary, CheckSummary } from "@mirror/contracts";
import { type Html, html } from "../html.js";
import type { Fetched } from "../mesh.js";
import type { SiteView } from "../sites.js";
import { ago, staleBanner } from "./layout.js";

const pct = (x: number | null | undefined) =>
  typeof x === "number" ? `${(x * 100).toFixed(x >= 0.9995 ? 0 : 2)}%` : "–";

/** A multi-site check's states per probe site, as a line under its state ("home: up · office: down"). */
export function sitesLine(view: SiteView | undefined): Html | "" {
  const entries = Object.entries(view?.sites ?? {});
  return entries.length
    ? html`<div class="muted sites">${entries.map(([s, st]) => `${s}: ${st}`).join(" · ")}</div>`
    : "";
}

export function servicesPage(
  f: Fetched<CheckSummary[]>,
  history: Fetched<CheckStatusSummary[]>,
  now: number,
  sites?: (check: string) => SiteView | undefined,
): Html {
  const checks = f.data ?? [];
  const hist = new Map((history.data ?? []).map((h) => [h.name, h]));
  return html`<h1>Services</h1>${staleBanner(f, now)}${history.error && history.data ? staleBanner(history, now) : ""}
  ${
    checks.length
      ? html`<table><thead><tr><th>Name</th><th>State</th><th>Since</th><th>Latency</th><th>Uptime 24h</th><th class="wide">30d</th><th class="wide">Checked</th><th class="wide">Last error</th></tr></thead><tbody>
    ${checks.map(
      (
        c,
      ) => html`<tr><td class="about"><a href="/services/${encodeURIComponent(c.name)}/history" title="Uptime, response time and incidents">${c.name}</a><div class="muted">${c.kind}</div></td><td class="state-${c.state} status">${c.state}${sitesLine(sites?.(c.name))}</td><td>${ago(c.since, now)}</td>
        <td>${typeof c.latencyMs === "number" ? `${Math.round(c.latencyMs)} ms` : ""}</td><td>${pct(hist.get(c.name)?.uptime["24h"])}</td><td class="wide">${pct(hist.get(c.name)?.uptime["30d"])}</td><td class="wide">${ago(c.checkedAt, now)}</td><td class="wide">${c.reason ?? c.lastError ?? ""}</td></tr>`,
    )}
    </tbody></table>`
      : html`<p class="muted">No checks configured and no mesh member seen yet.</p>`
  }`;
}
