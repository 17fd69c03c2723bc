import type { ServerResponse } from "node:http";
import type { ConsoleConfig } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { type AuthDeps, csrfMatches, forbidden, mayAct, type Principal, principalOf, unauthenticated } from "./auth.js";
import type { LiveHub } from "./live.js";
import type { LoginLimit } from "./login-limit.js";
import type { MeshClient } from "./mesh.js";
import type { SessionStore } from "./sessions.js";
import type { SetupLink } from "./setup.js";
import type { SiteStates } from "./sites.js";
import type { TokenStore } from "./tokens.js";
import type { UserStore } from "./users.js";

/** What the routes need once start() has connected the bus and the store. */
export interface ConsoleState {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenStore;
  setup: SetupLink;
  auth: AuthDeps;
  limit: LoginLimit;
  mesh: MeshClient;
  hub: LiveHub;
  /** Each check's latest state per probe site (the Services page lists a multi-site check's sites). */
  sites?: SiteStates;
  now: () => number;
  log: Logger;
  /** Open event streams, ended at stop so the HTTP server can close. */
  streams: Set<ServerResponse>;
  /** The model adapter named in the config, for the overview. */
  adapter: string;
  /**
   * The `console` section in force, replaced when mirror.yaml is reloaded (status pages, proxies,
   * publicUrl); without it the routes use the config they were registered with.
   */
  settings?: ConsoleConfig;
}

export type StateRef = () => ConsoleState | undefined;

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The signed-in user allowed to do this, or undefined after answering: 503 before start, 401 or
 * a login redirect without a session, 403 for a state change without the session's CSRF token
 * (header `x-csrf-token` or form field `_csrf`), 403 for a viewer trying to act.
 */
export async function guard(
  req: FastifyRequest,
  reply: FastifyReply,
  state: StateRef,
  opts: { act?: boolean } = {},
): Promise<{ s: ConsoleState; p: Principal } | undefined> {
  const s = state();
  if (!s) {
    replyError(reply, "MIRROR_ERR_STARTING", "the console is starting");
    return undefined;
  }
  const p = await principalOf(req, reply, s.auth);
  if (!p) {
    unauthenticated(req, reply);
    return undefined;
  }
  if (!READS.has(req.method) && p.via !== "token") {
    const given = req.headers["x-csrf-token"] ?? (req.body as { _csrf?: unknown } | undefined)?._csrf;
    if (!csrfMatches(given, p.csrf)) {
      forbidden(reply, "missing or wrong CSRF token: send x-csrf-token from GET /api/session");
      return undefined;
    }
  }
  if (opts.act && !mayAct(p)) {
    forbidden(reply, `role ${p.role} cannot do this`);
    return undefined;
  }
  return { s, p };
}

/**
 * Post/Redirect/Get: a form's action that succeeded answers with a 303 to `path`, and its notice
 * waits in the session for that page (a reload then shows the page, it does not send the form
 * again). Without a session (a bearer token) the notice is dropped with the redirect.
 */
export async function redirectWithNotice(
  reply: FastifyReply,
  s: ConsoleState,
  p: Principal,
  path: string,
  notice: string,
): Promise<FastifyReply> {
  // The action is done: a notice that cannot be kept (Redis away) is not worth an error page.
  if (p.sessionId)
    await s.sessions.flash(p.sessionId, notice).catch((err: Error) => {
      s.log.warn({ err: err.message }, "a form's notice was not kept");
    });
  return reply.redirect(path, 303);
}

/** The notice a form left for this page (redirectWithNotice), once. */
export function takeNotice(s: ConsoleState, p: Principal): Promise<string | undefined> {
  return s.sessions.takeFlash(p.sessionId || undefined);
}

/** Security headers on every answer: no framing, no sniffing, scripts and styles only from here. */
export function securityHeaders(reply: FastifyReply): void {
  reply.header(
    "content-security-policy",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  );
  reply.header("x-content-type-options", "nosniff");
  reply.header("x-frame-options", "DENY");
  reply.header("referrer-policy", "same-origin");
}
