import type { MirrorConfig } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { clearedCookie, cookie, SESSION_COOKIE, safeNext, sessionCookie } from "./auth.js";
import { clientAddress } from "./login-limit.js";
import { layout } from "./pages/layout.js";
import { loginPage } from "./pages/login.js";
import { guard, type StateRef } from "./state.js";

const PUBLIC = { config: { public: true }, bodyLimit: 16 * 1024 } as const;

const wantsJson = (req: FastifyRequest) => (req.headers["content-type"] ?? "").includes("application/json");

function field(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === "string" ? v : "";
}

/** GET/POST /login, POST /logout, GET /api/session. */
export function sessionRoutes(http: FastifyInstance, config: MirrorConfig, state: StateRef): void {
  // publicUrl, trustedProxies and sessionTtl follow config reloads (the section in force is the state's).
  const live = () => state()?.settings ?? config.console;
  const secure = () => live().publicUrl.startsWith("https:");
  const loginAnswer = (req: FastifyRequest, reply: FastifyReply, status: number, message: string, next: string) =>
    wantsJson(req)
      ? replyError(reply, status === 429 ? "MIRROR_ERR_RATE_LIMITED" : "MIRROR_ERR_LOGIN", message, status)
      : reply
          .code(status)
          .type("text/html; charset=utf-8")
          .send(layout({ title: "Log in", body: loginPage(next, message) }));

  http.get("/login", PUBLIC, async (req, reply) => {
    const next = safeNext((req.query as Record<string, unknown>).next);
    return reply.type("text/html; charset=utf-8").send(layout({ title: "Log in", body: loginPage(next) }));
  });

  http.post("/login", PUBLIC, async (req, reply) => {
    const s = state();
    if (!s) return replyError(reply, "MIRROR_ERR_STARTING", "the console is starting");
    const username = field(req.body, "username").slice(0, 200);
    const password = field(req.body, "password");
    const next = safeNext(field(req.body, "next"));
    if (!username || !password) return loginAnswer(req, reply, 400, "user name and password are required", next);
    const address = clientAddress(req, live().trustedProxies);
    const wait = await s.limit.blockedFor(address, username);
    if (wait > 0) {
      reply.header("retry-after", String(Math.ceil(wait / 1000)));
      return loginAnswer(req, reply, 429, "too many failed logins: try again later", next);
    }
    const user = await s.users.check(username, password);
    if (!user) {
      await s.limit.failed(address, username);
      s.log.warn({ address }, "login failed");
      // One answer for an unknown user and a wrong password: nothing tells which names exist.
      return loginAnswer(req, reply, 401, "wrong user name or password", next);
    }
    await s.limit.succeeded(username);
    const { id, session } = await s.sessions.create(user.name);
    s.log.info({ user: user.name }, "logged in");
    reply.header("set-cookie", sessionCookie(id, secure(), live().sessionTtl));
    if (wantsJson(req)) return reply.send({ user: user.name, role: user.role, csrfToken: session.csrf });
    return reply.redirect(next, 303);
  });

  http.post("/logout", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    await ok.s.sessions.destroy(cookie(req, SESSION_COOKIE));
    reply.header("set-cookie", clearedCookie(secure()));
    return wantsJson(req) ? reply.code(204).send() : reply.redirect("/login", 303);
  });

  http.get("/api/session", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    return { user: ok.p.name, role: ok.p.role, csrfToken: ok.p.csrf };
  });
}
