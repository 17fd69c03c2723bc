import type { Silence } from "@mirror/contracts";
import { mayAct, type Principal } from "../auth.js";
import { type Html, html } from "../html.js";
import type { Fetched } from "../mesh.js";
import { staleBanner } from "./layout.js";

/** Silences: list, create (matchers and a duration), expire. The delivery log needs a notifier endpoint that does not exist yet. */
export function notificationsPage(f: Fetched<Silence[]>, user: Principal, now: number, notice?: string): Html {
  const silences = f.data ?? [];
  const act = mayAct(user);
  const csrf = html`<input type="hidden" name="_csrf" value="${user.csrf}">`;
  return html`<h1>Notifications</h1>${staleBanner(f, now)}${notice ? html`<p class="banner" role="status">${notice}</p>` : ""}
  <h2>Silences</h2>
  ${silences.length
    ? html`<table id="silences"><thead><tr><th>Matchers</th><th>Until</th><th class="wide">By</th><th></th></tr></thead><tbody>
    ${silences.map(
      (s) => html`<tr><td>${s.matchers.join(" ")}${s.comment ? html`<div class="muted">${s.comment}</div>` : ""}</td><td>${s.until}</td><td class="wide">${s.createdBy}</td>
        <td>${act ? html`<form class="inline" method="post" action="/notifications/silences/${encodeURIComponent(s.id)}/expire">${csrf}<button type="submit">Expire</button></form>` : ""}</td></tr>`,
    )}</tbody></table>`
    : html`<p class="muted">No active silences.</p>`}
  ${act
    ? html`<h2>New silence</h2><form method="post" action="/notifications/silences" class="filters">${csrf}
      <label>Matchers <input name="matchers" required placeholder="alertname=repo.dirty repo=~.*/scratch"></label>
      <label>For <input name="for" required value="2h" size="5"></label>
      <label>Comment <input name="comment"></label>
      <button type="submit">Silence</button></form>`
    : ""}
  <p class="muted">The delivery log per channel is not shown yet: the notifier has no endpoint for it.</p>`;
}
