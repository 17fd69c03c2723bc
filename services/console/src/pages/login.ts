import { type Html, html } from "../html.js";

export function loginPage(next: string, message?: string): Html {
  return html`<form class="login" method="post" action="/login">
    <h1>Log in</h1>
    ${message ? html`<p class="banner error" role="alert">${message}</p>` : ""}
    <input type="hidden" name="next" value="${next}">
    <label>User name <input name="username" autocomplete="username" required autofocus></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Log in</button>
  </form>`;
}

export function notFoundPage(what: string): Html {
  return html`<h1>Not found</h1><p>${what}</p><p><a href="/loops">All loops</a></p>`;
}
