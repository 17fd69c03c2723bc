import { createHash, timingSafeEqual } from "node:crypto";
import type { ConsoleRole } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { SessionStore } from "./sessions.js";
import type { TokenStore } from "./tokens.js";
import type { UserStore } from "./users.js";

export const SESSION_COOKIE = "mirror_session";

/** Who is asking, from the session cookie. */
export interface Principal {
  name: string;
  role: ConsoleRole;
  csrf: string;
  sessionId: string;
  /** A token needs no CSRF token: no browser sends it by itself. */
  via: "session" | "token" | "header";
}

/** Reads one cookie from the Cookie header. */
export function cookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

export function sessionCookie(id: string, secure: boolean, maxAgeMs: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${Math.floor(maxAgeMs / 1000)}${secure ? "; Secure" : ""}`;
}

export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? "; Secure" : ""}`;
}

/** A path of this site to go back to after login; anything else (other origins, `//host`, `/\host`) is `/`. */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || next.length > 2_000) return "/";
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return "/";
  if (next.startsWith("/login") || next.startsWith("/logout")) return "/";
  return next;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

export function csrfMatches(given: unknown, expected: string): boolean {
  return typeof given === "string" && given.length > 0 && timingSafeEqual(digest(given), digest(expected));
}

export const ROLE_RANK: Record<ConsoleRole, number> = { viewer: 0, operator: 1, admin: 2 };

export function mayAct(p: Principal | undefined): boolean {
  return !!p && ROLE_RANK[p.role] >= ROLE_RANK.operator;
}

/** How a request may say who it is; built once from the config and the stores. */
export interface AuthDeps {
  sessions: SessionStore;
  users: UserStore;
  tokens: TokenStore;
  /** Single sign-on: the header naming the user, believed only from these proxy addresses. */
  sso?: { header: string; proxies: readonly string[] };
  cookie: { secure: boolean; ttlMs: number };
}

const addressOf = (req: FastifyRequest) => (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");

/** The name in the SSO header, when the request comes from a trusted proxy (from anywhere else it is ignored). */
export function ssoUser(req: FastifyRequest, sso: AuthDeps["sso"]): string | undefined {
  if (!sso?.proxies.includes(addressOf(req))) return undefined;
  const v = req.headers[sso.header.toLowerCase()];
  return typeof v === "string" && v.trim() ? v.trim() : undefined;
}

/**
 * Who is asking: a per-user API token (`Authorization: Bearer`, /api/ only, no CSRF), a live
 * session whose user still exists (the role is read now, so a change takes effect at once), or
 * the SSO header from a trusted proxy (which gets a session, so CSRF works the same way).
 */
export async function principalOf(
  req: FastifyRequest,
  reply: FastifyReply,
  d: AuthDeps,
): Promise<Principal | undefined> {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
  if (bearer && req.url.startsWith("/api/")) {
    const name = await d.tokens.userOf(bearer);
    const user = name ? await d.users.get(name) : undefined;
    return user ? { name: user.name, role: user.role, csrf: "", sessionId: "", via: "token" } : undefined;
  }
  const id = cookie(req, SESSION_COOKIE);
  const session = await d.sessions.get(id);
  const sso = ssoUser(req, d.sso);
  if (session && id && (!sso || sso.toLowerCase() === session.user.toLowerCase())) {
    const user = await d.users.get(session.user);
    if (user) return { name: user.name, role: user.role, csrf: session.csrf, sessionId: id, via: "session" };
  }
  if (!sso) return undefined;
  const user = await d.users.get(sso);
  if (!user) return undefined;
  const made = await d.sessions.create(user.name);
  reply.header("set-cookie", sessionCookie(made.id, d.cookie.secure, d.cookie.ttlMs));
  return { name: user.name, role: user.role, csrf: made.session.csrf, sessionId: made.id, via: "header" };
}

/** 401 for the API, a redirect to the login page (and back here afterwards) for pages. */
export function unauthenticated(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (req.url.startsWith("/api/")) return replyError(reply, "MIRROR_ERR_UNAUTHENTICATED", "log in first (POST /login)");
  return reply.redirect(`/login?next=${encodeURIComponent(safeNext(req.url))}`, 303);
}

export function forbidden(reply: FastifyReply, message: string): FastifyReply {
  return replyError(reply, "MIRROR_ERR_FORBIDDEN", message);
}
