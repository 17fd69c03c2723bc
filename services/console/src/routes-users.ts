import { ConsoleRole, type ConsoleUser, UserName } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Principal } from "./auth.js";
import { ConsoleError } from "./errors.js";
import { layout } from "./pages/layout.js";
import { usersPage } from "./pages/users.js";
import { sendError } from "./routes-api.js";
import { type ConsoleState, guard, redirectWithNotice, type StateRef, takeNotice } from "./state.js";

const PUBLIC = { config: { public: true }, bodyLimit: 16 * 1024 } as const;

/** Only admins manage accounts; the same stores and rules as `mirror user ...`. */
async function admin(req: FastifyRequest, reply: FastifyReply, state: StateRef) {
  const ok = await guard(req, reply, state, { act: true });
  if (!ok) return undefined;
  if (ok.p.role !== "admin") {
    replyError(reply, "MIRROR_ERR_FORBIDDEN", `role ${ok.p.role} cannot manage users`);
    return undefined;
  }
  return ok;
}

async function addUser(s: ConsoleState, body: unknown): Promise<ConsoleUser> {
  const b = (body ?? {}) as Record<string, unknown>;
  const name = UserName.safeParse(b.name);
  const role = ConsoleRole.safeParse(b.role);
  const password = typeof b.password === "string" ? b.password : "";
  if (!name.success || !role.success || password.length < 8 || password.length > 1_024) {
    throw new ConsoleError(
      "MIRROR_ERR_BAD_INPUT",
      "a user needs a name (letters, digits, . _ @ -), a role (viewer, operator, admin) and a password of at least 8 characters",
    );
  }
  const user = await s.users.add(name.data, role.data, password);
  s.log.info({ user: user.name, role: user.role }, "user added");
  return user;
}

async function removeUser(s: ConsoleState, me: Principal, name: string): Promise<ConsoleUser> {
  if (name.toLowerCase() === me.name.toLowerCase())
    throw new ConsoleError("MIRROR_ERR_BAD_INPUT", "you cannot remove yourself");
  const user = await s.users.remove(name);
  await s.sessions.revokeUser(user.name);
  await s.tokens.revokeUser(user.name);
  s.log.info({ user: user.name, by: me.name }, "user removed");
  return user;
}

export function userRoutes(http: FastifyInstance, state: StateRef): void {
  const page = async (reply: FastifyReply, s: ConsoleState, me: Principal, notice?: string, status = 200) =>
    reply
      .code(status)
      .type("text/html; charset=utf-8")
      .send(layout({ title: "Users", user: me, path: "/users", body: usersPage(await s.users.list(), me, notice) }));

  http.get("/users", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    if (ok.p.role !== "admin") return replyError(reply, "MIRROR_ERR_FORBIDDEN", "only admins manage users");
    return page(reply, ok.s, ok.p, await takeNotice(ok.s, ok.p));
  });
  http.post("/users", PUBLIC, async (req, reply) => {
    const ok = await admin(req, reply, state);
    if (!ok) return reply;
    try {
      const u = await addUser(ok.s, req.body);
      return redirectWithNotice(reply, ok.s, ok.p, "/users", `Added ${u.name} (${u.role}).`);
    } catch (err) {
      if (!(err instanceof ConsoleError)) throw err;
      return page(reply, ok.s, ok.p, err.message, err.status);
    }
  });
  http.post<{ Params: { name: string } }>("/users/:name/remove", PUBLIC, async (req, reply) => {
    const ok = await admin(req, reply, state);
    if (!ok) return reply;
    try {
      const u = await removeUser(ok.s, ok.p, req.params.name);
      return redirectWithNotice(reply, ok.s, ok.p, "/users", `Removed ${u.name}.`);
    } catch (err) {
      if (!(err instanceof ConsoleError)) throw err;
      return page(reply, ok.s, ok.p, err.message, err.status);
    }
  });

  http.get("/api/users", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    if (ok.p.role !== "admin") return replyError(reply, "MIRROR_ERR_FORBIDDEN", "only admins manage users");
    return { users: await ok.s.users.list() };
  });
  http.post("/api/users", PUBLIC, async (req, reply) => {
    const ok = await admin(req, reply, state);
    if (!ok) return reply;
    try {
      return { user: await addUser(ok.s, req.body) };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  http.post<{ Params: { name: string } }>("/api/users/:name/remove", PUBLIC, async (req, reply) => {
    const ok = await admin(req, reply, state);
    if (!ok) return reply;
    try {
      return { user: await removeUser(ok.s, ok.p, req.params.name) };
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
