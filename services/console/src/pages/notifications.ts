import {
  type ChannelDeliveries,
  type DeliveriesReply,
  type DeliveryLogEntry,
  formatDuration,
  type MaintenanceInfo,
  type Silence,
} from "@mirror/contracts";
import { mayAct, type Principal } from "../auth.js";
import { type Html, html } from "../html.js";
import type { Fetched, MeshClient } from "../mesh.js";
import { ago, noticeBanner, staleBanner } from "./layout.js";

/** What the Notifications page shows, each part read from its owner (and possibly stale on its own). */
export interface NotificationsView {
  deliveries: Fetched<DeliveriesReply>;
  silences: Fetched<Silence[]>;
  maintenance: Fetched<MaintenanceInfo[]>;
}

/** Deliveries shown per channel on the page (the API takes its own limit). */
const PAGE_LIMIT = 25;

export async function loadNotifications(mesh: MeshClient): Promise<NotificationsView> {
  const [deliveries, silences, maintenance] = await Promise.all([
    mesh.deliveries(PAGE_LIMIT),
    mesh.silences(),
    mesh.maintenance(),
  ]);
  return { deliveries, silences, maintenance };
}

/** A time as a person reads it on a small screen (minutes, UTC); the exact time stays in `datetime`. */
function stamp(iso: string | null | undefined): Html {
  if (!iso) return html`?`;
  const t = new Date(iso);
  const text = Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return html`<time datetime="${iso}">${text}</time>`;
}

function about(d: DeliveryLogEntry): Html {
  if (d.kind === "digest") return html`digest`;
  const more = d.alertCount - d.alerts.length;
  return html`${d.alerts.map((a, i) => html`${i ? ", " : ""}<a href="/loops/${encodeURIComponent(a.loopId)}">${a.alertname}${a.entity ? html` · ${a.entity}` : ""}</a>${a.status === "resolved" ? " (resolved)" : ""}`)}${more > 0 ? html` and ${more} more` : ""}`;
}

function channelLog(c: ChannelDeliveries, now: number): Html {
  const id = `deliveries-${c.channel}`;
  return html`<section class="channel" aria-labelledby="${id}-title">
  <h3 id="${id}-title">${c.channel} <span class="muted">${c.type ?? "no longer configured"} · sent ${c.counts.sent} · retried ${c.counts.retried} · failed ${c.counts.failed}</span></h3>
  ${
    c.deliveries.length
      ? html`<table id="${id}" class="deliveries" data-channel="${c.channel}"><thead><tr><th>When</th><th>Outcome</th><th class="wide">Kind</th><th>About</th><th class="wide">Attempt</th><th>Error</th></tr></thead><tbody>
    ${c.deliveries.map(
      (
        d,
      ) => html`<tr class="outcome-${d.outcome}"><td><time datetime="${d.at}" title="${d.at}">${ago(d.at, now)}</time></td>
        <td class="status ${d.outcome === "sent" ? "state-up" : d.outcome === "failed" ? "state-down" : "state-degraded"}">${d.outcome}</td>
        <td class="wide">${d.kind}</td><td class="about">${about(d)}</td><td class="wide">${d.attempts}</td>
        <td class="about">${d.error ?? ""}${d.nextAttemptAt ? html`<div class="muted">next try ${stamp(d.nextAttemptAt)}</div>` : ""}</td></tr>`,
    )}</tbody></table>`
      : html`<p class="muted">No deliveries yet.</p>`
  }</section>`;
}

function deliveryLog(f: Fetched<DeliveriesReply>, now: number): Html {
  const channels = f.data?.channels ?? [];
  return html`<h2>Delivery log</h2>${staleBanner(f, now)}
  ${channels.length ? channels.map((c) => channelLog(c, now)) : f.data ? html`<p class="muted">No channel is configured: nothing will reach you.</p>` : ""}`;
}

const matchText = (w: MaintenanceInfo) =>
  (["check", "repo", "kind"] as const).flatMap((k) => (w.match[k] ?? []).map((v) => `${k}=${v}`)).join(" ");

function when(w: MaintenanceInfo): Html {
  if (w.cron) return html`cron ${w.cron} for ${formatDuration(w.duration ?? 0)}${w.tz ? ` (${w.tz})` : ""}`;
  return html`${stamp(w.start)} → ${stamp(w.end)}`;
}

function maintenanceSection(f: Fetched<MaintenanceInfo[]>, user: Principal, now: number, csrf: Html): Html {
  const windows = f.data ?? [];
  const act = mayAct(user);
  return html`<h2>Maintenance windows</h2>${staleBanner(f, now)}
  ${
    windows.length
      ? html`<table id="maintenance"><thead><tr><th>Name</th><th>Matches</th><th>When</th><th>Active</th><th class="wide">By</th><th></th></tr></thead><tbody>
    ${windows.map(
      (
        w,
      ) => html`<tr data-window="${w.name}"><td>${w.name}</td><td class="about">${matchText(w)}</td><td class="about">${when(w)}</td>
        <td class="window-active">${w.active ? html`<span class="status state-degraded">on</span>${w.activeUntil ? html` until ${stamp(w.activeUntil)}` : ""}` : "off"}</td>
        <td class="wide">${w.source === "config" ? "mirror.yaml" : (w.createdBy ?? "")}</td>
        <td>${act && w.source === "runtime" ? html`<form class="inline" method="post" action="/notifications/maintenance/${encodeURIComponent(w.name)}/end">${csrf}<button type="submit">End</button></form>` : ""}</td></tr>`,
    )}</tbody></table>`
      : f.data
        ? html`<p class="muted">No maintenance windows.</p>`
        : ""
  }
  ${
    act
      ? html`<h3>New maintenance window</h3><p class="muted">While a window is on, the loops it matches stay visible but are not notified. Separate several names with spaces.</p>
      <form method="post" action="/notifications/maintenance" class="filters" id="maintenance-form">${csrf}
      <label>Name <input name="name" required placeholder="backup"></label>
      <label>Checks <input name="check" placeholder="redis"></label>
      <label>Repos <input name="repo" placeholder="/src/app"></label>
      <label>Kinds <input name="kind" placeholder="service.down"></label>
      <label>For <input name="for" value="2h" size="5"></label>
      <label>Or until (UTC) <input name="until" placeholder="2026-12-24T18:00:00Z"></label>
      <button type="submit">Add window</button></form>`
      : ""
  }`;
}

function silencesSection(f: Fetched<Silence[]>, user: Principal, now: number, csrf: Html): Html {
  const silences = f.data ?? [];
  const act = mayAct(user);
  return html`<h2>Silences</h2>${staleBanner(f, now)}
  ${
    silences.length
      ? html`<table id="silences"><thead><tr><th>Matchers</th><th>Until</th><th class="wide">By</th><th></th></tr></thead><tbody>
    ${silences.map(
      (
        s,
      ) => html`<tr><td>${s.matchers.join(" ")}${s.comment ? html`<div class="muted">${s.comment}</div>` : ""}</td><td>${s.until}</td><td class="wide">${s.createdBy}</td>
        <td>${act ? html`<form class="inline" method="post" action="/notifications/silences/${encodeURIComponent(s.id)}/expire">${csrf}<button type="submit">Expire</button></form>` : ""}</td></tr>`,
    )}</tbody></table>`
      : html`<p class="muted">No active silences.</p>`
  }
  ${
    act
      ? html`<h3>New silence</h3><form method="post" action="/notifications/silences" class="filters">${csrf}
      <label>Matchers <input name="matchers" required placeholder="alertname=repo.dirty repo=~.*/scratch"></label>
      <label>For <input name="for" required value="2h" size="5"></label>
      <label>Comment <input name="comment"></label>
      <button type="submit">Silence</button></form>`
      : ""
  }`;
}

/**
 * The delivery log per channel (sent, retried, failed, with the error), maintenance windows
 * (list, add, end) and silences (list, create, expire). Buttons and forms only for those who may act.
 */
export function notificationsPage(v: NotificationsView, user: Principal, now: number, notice?: string): Html {
  const csrf = html`<input type="hidden" name="_csrf" value="${user.csrf}">`;
  return html`<h1>Notifications</h1>${noticeBanner(notice)}
  ${deliveryLog(v.deliveries, now)}
  ${maintenanceSection(v.maintenance, user, now, csrf)}
  ${silencesSection(v.silences, user, now, csrf)}
  ${mayAct(user) ? "" : html`<p class="muted">Your role (${user.role}) can read but not act.</p>`}`;
}
