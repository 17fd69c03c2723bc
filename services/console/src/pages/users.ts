import type { ConsoleUser } from "@mirror/contracts";
import type { Principal } from "../auth.js";
import { type Html, html } from "../html.js";
import { noticeBanner } from "./layout.js";

/** Accounts, for admins: list, add (name, role, password), remove. The CLI does the same over the bus. */
export function usersPage(users: ConsoleUser[], me: Principal, notice?: string): Html {
  const csrf = html`<input type="hidden" name="_csrf" value="${me.csrf}">`;
  return html`<h1>Users</h1>${noticeBanner(notice)}
  <table id="users"><thead><tr><th>Name</th><th>Role</th><th class="wide">Since</th><th></th></tr></thead><tbody>
  ${users.map(
    (u) => html`<tr><td class="about">${u.name}</td><td>${u.role}</td><td class="wide">${u.createdAt}</td>
      <td>${u.name.toLowerCase() === me.name.toLowerCase() ? "" : html`<form class="inline" method="post" action="/users/${encodeURIComponent(u.name)}/remove">${csrf}<button type="submit">Remove</button></form>`}</td></tr>`,
  )}</tbody></table>
  <h2>Add a user</h2>
  <form method="post" action="/users" class="filters">${csrf}
    <label>Name <input name="name" required autocomplete="off"></label>
    <label>Role <select name="role"><option>viewer</option><option>operator</option><option>admin</option></select></label>
    <label>Password <input name="password" type="password" required minlength="8" autocomplete="new-password"></label>
    <button type="submit">Add</button></form>
  <p class="muted">API tokens: <code>pnpm mirror token create --user NAME --name LABEL</code>.</p>`;
}
