import type { CheckSummary } from "@mirror/contracts";
import { type Html, html } from "../html.js";
import type { Fetched } from "../mesh.js";
import { ago, staleBanner } from "./layout.js";

export function servicesPage(f: Fetched<CheckSummary[]>, now: number): Html {
  const checks = f.data ?? [];
  return html`<h1>Services</h1>${staleBanner(f, now)}
  ${checks.length
    ? html`<table><thead><tr><th>Name</th><th>State</th><th>Since</th><th>Latency</th><th class="wide">Checked</th><th class="wide">Last error</th></tr></thead><tbody>
    ${checks.map(
      (c) => html`<tr><td class="about">${c.name}<div class="muted">${c.kind}</div></td><td class="state-${c.state} status">${c.state}</td><td>${ago(c.since, now)}</td>
        <td>${typeof c.latencyMs === "number" ? `${Math.round(c.latencyMs)} ms` : ""}</td><td class="wide">${ago(c.checkedAt, now)}</td><td class="wide">${c.reason ?? c.lastError ?? ""}</td></tr>`,
    )}
    </tbody></table>`
    : html`<p class="muted">No checks configured and no mesh member seen yet.</p>`}`;
}
