import type { MirrorConfig } from "@mirror/contracts";
import { UserName } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyInstance, FastifyReply } from "fastify";
import { sessionCookie } from "./auth.js";
import { type Html, html } from "./html.js";
import { layout } from "./pages/layout.js";
import type { StateRef } from "./state.js";

const PUBLIC = { config: { public: true }, bodyLimit: 16 * 1024 } as const;

function setupForm(token: string, message?: string): Html {
  return html`<form class="login" method="post" action="/setup">
    <h1>Create the first admin</h1>
    ${message ? html`<p class="banner error" role="alert">${message}</p>` : ""}
    <input type="hidden" name="token" value="${token}">
    <label>User name <input name="username" autocomplete="username" required autofocus></label>
    <label>Password <input name="password" type="password" autocomplete="new-password" required minlength="8"></label>
    <button type="submit">Create</button>
  </form>`;
}

const page = (reply: FastifyReply, status: number, body: Html) =>
  reply
    .code(status)
    .type("text/html; charset=utf-8")
    .send(layout({ title: "Setup", body }));
const field = (body: unknown, name: string) => String((body as Record<string, unknown> | undefined)?.[name] ?? "");

/** GET/POST /setup: the first-run link `pnpm start` shows while no user exists. */
export function setupRoutes(http: FastifyInstance, config: MirrorConfig, state: StateRef): void {
  http.get("/setup", PUBLIC, async (req, reply) => {
    const s = state();
    if (!s) return replyError(reply, "MIRROR_ERR_STARTING", "the console is starting");
    if ((await s.users.count()) > 0)
      return page(reply, 410, html`<h1>Set up already</h1><p><a href="/login">Log in</a></p>`);
    const token = (req.query as Record<string, unknown>).token;
    if (!(await s.setup.valid(token)))
      return page(
        reply,
        403,
        html`<h1>This setup link is not valid</h1><p>It expires after an hour; restart the console for a new one, or run <code>pnpm mirror user add NAME --role admin --password-stdin</code>.</p>`,
      );
    return page(reply, 200, setupForm(token as string));
  });

  http.post("/setup", PUBLIC, async (req, reply) => {
    const s = state();
    if (!s) return replyError(reply, "MIRROR_ERR_STARTING", "the console is starting");
    const [token, username, password] = ["token", "username", "password"].map((f) => field(req.body, f)) as [
      string,
      string,
      string,
    ];
    if ((await s.users.count()) > 0)
      return page(reply, 410, html`<h1>Set up already</h1><p><a href="/login">Log in</a></p>`);
    if (!(await s.setup.valid(token))) return page(reply, 403, html`<h1>This setup link is not valid</h1>`);
    const name = UserName.safeParse(username);
    if (!name.success || password.length < 8)
      return page(
        reply,
        400,
        setupForm(token, "Choose a user name of letters and digits and a password of at least 8 characters."),
      );
    if (!(await s.setup.consume(token))) return page(reply, 403, html`<h1>This setup link is not valid</h1>`);
    const user = await s.users.add(name.data, "admin", password);
    s.log.info({ user: user.name }, "first admin created from the setup link");
    const { id } = await s.sessions.create(user.name);
    reply.header(
      "set-cookie",
      sessionCookie(
        id,
        (s.settings ?? config.console).publicUrl.startsWith("https:"),
        (s.settings ?? config.console).sessionTtl,
      ),
    );
    return reply.redirect("/", 303);
  });
}
