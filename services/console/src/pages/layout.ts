import type { Principal } from "../auth.js";
import { type Html, html } from "../html.js";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/loops", "Loops"],
  ["/services", "Services"],
  ["/repos", "Repos"],
  ["/notifications", "Notifications"],
  ["/ask", "Ask"],
];

export interface PageOptions {
  title: string;
  user?: Principal;
  path?: string;
  body: Html;
  /** The loop page refreshes only for its own loop's events. */
  loopId?: string;
}

/** The whole document around a page's body: navigation, who is logged in, the live-update script. */
export function layout(o: PageOptions): string {
  const nav = o.user
    ? html`<nav aria-label="Main">${[...NAV, ...(o.user.role === "admin" ? [["/users", "Users"] as [string, string]] : [])].map(([href, label]) => html`<a href="${href}" ${o.path === href ? html`aria-current="page"` : ""}>${label}</a>`)}</nav>
      <div class="who"><span id="live" class="muted" aria-live="polite"></span><span>${o.user.name} (${o.user.role})</span>
        <form class="inline" method="post" action="/logout"><input type="hidden" name="_csrf" value="${o.user.csrf}"><button type="submit">Log out</button></form></div>`
    : "";
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · MirrorOS</title><link rel="stylesheet" href="/assets/console.css"></head>
<body><header><span class="brand">MirrorOS</span>${nav}</header>
<main id="content" ${o.loopId ? html`data-loop="${o.loopId}"` : ""} ${o.path === "/" || o.path === "/services" ? html`data-live="services"` : o.path === "/notifications" ? html`data-live="notifications"` : ""}>${o.body}</main>
${o.user ? html`<script src="/assets/console.js" defer></script>` : ""}
</body></html>`.text;
}

/** Says which part did not answer and how old the data shown is, instead of a blank page. */
export function staleBanner(f: { error?: string; at?: number }, now: number): Html {
  if (!f.error) return html``;
  const age = f.at ? html` Showing data from ${Math.round((now - f.at) / 1000)} s ago.` : html` No data yet.`;
  return html`<p class="banner error" role="status">${f.error}.${age}</p>`;
}

/** What a form just did, shown once on the page its Post/Redirect/Get lands on. */
export function noticeBanner(notice: string | undefined): Html {
  return notice ? html`<p class="banner" role="status" id="notice">${notice}</p>` : html``;
}

export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5_400) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3_600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}
