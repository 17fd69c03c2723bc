import { createHash, timingSafeEqual } from "node:crypto";
import type { ConsoleRole } from "@mirror/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { SessionStore } from "./sessions.js";
import type { UserStore } from "./users.js";

export const SESSION_COOKIE = "mirror_session";

/** Who is asking, from the session cookie. */
export interface Principal {
  name: string;
  role: ConsoleRole;
  csrf: string;
  sessionId: string;
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

/** The signed-in user: a live session whose user still exists (the role is read now, so a change takes effect at once). */
export async function principalOf(req: FastifyRequest, sessions: SessionStore, users: UserStore): Promise<Principal | undefined> {
  const id = cookie(req, SESSION_COOKIE);
  const session = await sessions.get(id);
  if (!session || !id) return undefined;
  const user = await users.get(session.user);
  if (!user) return undefined;
  return { name: user.name, role: user.role, csrf: session.csrf, sessionId: id };
}

/** 401 for the API, a redirect to the login page (and back here afterwards) for pages. */
export function unauthenticated(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (req.url.startsWith("/api/")) return reply.code(401).send({ error: { code: "MIRROR_ERR_UNAUTHENTICATED", message: "log in first (POST /login)" } });
  return reply.redirect(`/login?next=${encodeURIComponent(safeNext(req.url))}`, 303);
}

export function forbidden(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(403).send({ error: { code: "MIRROR_ERR_FORBIDDEN", message } });
}
