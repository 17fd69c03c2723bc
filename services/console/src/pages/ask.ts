import type { AskReply } from "@mirror/contracts";
import { mayAct, type Principal } from "../auth.js";
import { type Html, html } from "../html.js";

/** A question to the running model adapter; its answer is model text, shown as text (links are not links). */
export function askPage(user: Principal, question = "", reply?: AskReply, error?: string): Html {
  if (!mayAct(user)) return html`<h1>Ask</h1><p class="muted">Your role (${user.role}) cannot ask the model.</p>`;
  return html`<h1>Ask</h1>
  <form method="post" action="/ask" class="filters"><input type="hidden" name="_csrf" value="${user.csrf}">
    <label>Question <input name="question" required maxlength="4000" size="40" value="${question}"></label><button type="submit">Ask</button></form>
  ${error ? html`<p class="banner error" role="alert">${error}</p>` : ""}
  ${reply ? html`<h2>Answer <span class="muted">from ${reply.adapter} (${reply.model})</span></h2><pre class="model-text" id="answer">${reply.answer}</pre>` : ""}`;
}
