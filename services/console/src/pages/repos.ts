import type { Loop, ScanReposReply } from "@mirror/contracts";
import { mayAct, type Principal } from "../auth.js";
import { type Html, html } from "../html.js";
import type { Fetched } from "../mesh.js";
import { ago, noticeBanner, staleBanner } from "./layout.js";

export interface RepoView {
  path: string;
  kind?: string;
  signals: { kind: string; loopId: string; status: string; since: string }[];
}

/**
 * Every repo the scanner found, with its signals as the loop-detector's loops show them (each
 * with its age); repos with loops the scanner no longer lists are kept, so nothing open hides.
 */
export function reposOf(loops: Loop[], scanned: ScanReposReply["repos"] = []): RepoView[] {
  const byPath = new Map<string, RepoView>(scanned.map((r) => [r.path, { path: r.path, kind: r.kind, signals: [] }]));
  for (const l of loops) {
    if (l.entity.type !== "repo" || !l.entity.repo || l.status === "closed") continue;
    const r = byPath.get(l.entity.repo) ?? { path: l.entity.repo, signals: [] };
    r.signals.push({ kind: l.kind, loopId: l.id, status: l.status, since: l.openedAt });
    byPath.set(l.entity.repo, r);
  }
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
}

export function repoRows(repos: RepoView[], now: number): Html {
  if (!repos.length) return html`<p class="muted">No repos.</p>`;
  return html`<table id="repos"><thead><tr><th>Repository</th><th>Signals</th></tr></thead><tbody>
  ${repos.map(
    (
      r,
    ) => html`<tr><td class="repo-name about"><a href="/repos/history?repo=${encodeURIComponent(r.path)}" title="How long each signal was true in the last 90 days">${r.path.split("/").pop()}</a><div class="muted">${r.path}${r.kind && r.kind !== "repo" ? ` (${r.kind})` : ""}</div></td>
      <td>${r.signals.length ? r.signals.map((s) => html`<div><a href="/loops/${encodeURIComponent(s.loopId)}">${s.kind}</a> <span class="muted">${s.status}, ${ago(s.since, now)}</span></div>`) : html`<span class="state-up">clean</span>`}</td></tr>`,
  )}</tbody></table>`;
}

export function reposPage(
  loops: Fetched<Loop[]>,
  scanned: Fetched<ScanReposReply>,
  user: Principal,
  now: number,
  notice?: string,
): Html {
  const rescan = mayAct(user)
    ? html`<form class="inline" method="post" action="/repos/rescan"><input type="hidden" name="_csrf" value="${user.csrf}"><button type="submit">Rescan</button></form>`
    : "";
  const last = scanned.data?.lastScanAt;
  return html`<h1>Repos</h1>${staleBanner(loops, now)}${staleBanner(scanned, now)}${noticeBanner(notice)}
  <p class="muted">${last ? `Last scan ${ago(last, now)}.` : "No scan finished yet."} ${rescan}</p>
  ${repoRows(reposOf(loops.data ?? [], scanned.data?.repos), now)}`;
}
