import type { Loop } from "@mirror/contracts";
import { mayAct, type Principal } from "../auth.js";
import { type Html, html } from "../html.js";
import type { Fetched } from "../mesh.js";
import { ago, staleBanner } from "./layout.js";

export interface RepoView {
  path: string;
  signals: { kind: string; loopId: string; status: string; since: string }[];
}

/** Repos as their open loops show them: each signal is a loop with its age. */
export function reposOf(loops: Loop[]): RepoView[] {
  const byPath = new Map<string, RepoView>();
  for (const l of loops) {
    if (l.entity.type !== "repo" || !l.entity.repo || l.status === "closed") continue;
    const r = byPath.get(l.entity.repo) ?? { path: l.entity.repo, signals: [] };
    r.signals.push({ kind: l.kind, loopId: l.id, status: l.status, since: l.openedAt });
    byPath.set(l.entity.repo, r);
  }
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
}

export function repoRows(repos: RepoView[], now: number): Html {
  if (!repos.length) return html`<p class="muted">No repo needs attention.</p>`;
  return html`<table><thead><tr><th>Repository</th><th>Signals</th></tr></thead><tbody>
  ${repos.map(
    (r) => html`<tr><td class="repo-name">${r.path.split("/").pop()}<div class="muted">${r.path}</div></td>
      <td>${r.signals.map((s) => html`<div><a href="/loops/${encodeURIComponent(s.loopId)}">${s.kind}</a> <span class="muted">${s.status}, ${ago(s.since, now)}</span></div>`)}</td></tr>`,
  )}</tbody></table>`;
}

export function reposPage(loops: Fetched<Loop[]>, user: Principal, now: number, notice?: string): Html {
  const rescan = mayAct(user)
    ? html`<form class="inline" method="post" action="/repos/rescan"><input type="hidden" name="_csrf" value="${user.csrf}"><button type="submit">Rescan</button></form>`
    : "";
  return html`<h1>Repos</h1>${staleBanner(loops, now)}${notice ? html`<p class="banner" role="status">${notice}</p>` : ""}${rescan}
  ${repoRows(reposOf(loops.data ?? []), now)}`;
}
