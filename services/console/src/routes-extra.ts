import type { FastifyInstance, FastifyReply } from "fastify";
import type { Principal } from "./auth.js";
import { ConsoleError } from "./errors.js";
import type { Html } from "./html.js";
import { askPage } from "./pages/ask.js";
import { layout } from "./pages/layout.js";
import { notificationsPage } from "./pages/notifications.js";
import { sendError } from "./routes-api.js";
import { type ConsoleState, guard, type StateRef } from "./state.js";

const PUBLIC = { config: { public: true }, bodyLimit: 16 * 1024 } as const;

function send(reply: FastifyReply, title: string, user: Principal, path: string, body: Html, status = 200): FastifyReply {
  return reply.code(status).type("text/html; charset=utf-8").send(layout({ title, user, path, body }));
}

/** A silence from a form or JSON: matchers as a list or as one space-separated string. */
function silenceRequest(body: unknown): { matchers: string[]; for: string; comment?: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  const matchers = Array.isArray(b.matchers) ? b.matchers.map(String) : String(b.matchers ?? "").split(/\s+/).filter(Boolean);
  if (!matchers.length) throw new ConsoleError("MIRROR_ERR_BAD_INPUT", 400, "a silence needs at least one matcher, e.g. alertname=repo.dirty");
  return { matchers, for: typeof b.for === "string" && b.for ? b.for : "2h", ...(typeof b.comment === "string" && b.comment ? { comment: b.comment.slice(0, 500) } : {}) };
}

const question = (body: unknown) => String((body as { question?: unknown } | undefined)?.question ?? "").slice(0, 4_000);

async function tryAsk(s: ConsoleState, q: string) {
  if (!q.trim()) throw new ConsoleError("MIRROR_ERR_BAD_INPUT", 400, "the question is empty");
  return s.mesh.ask(q);
}

/** Notifications (silences) and Ask: pages and their JSON API. */
export function extraRoutes(http: FastifyInstance, state: StateRef): void {
  http.get("/notifications", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    return send(reply, "Notifications", ok.p, "/notifications", notificationsPage(await ok.s.mesh.silences(), ok.p, ok.s.now()));
  });
  http.post("/notifications/silences", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    let notice: string;
    let status = 200;
    try {
      const s = await ok.s.mesh.silence(silenceRequest(req.body), ok.p.name);
      notice = `Silenced until ${s.until}.`;
    } catch (err) {
      if (!(err instanceof ConsoleError)) throw err;
      [notice, status] = [err.message, err.status];
    }
    return send(reply, "Notifications", ok.p, "/notifications", notificationsPage(await ok.s.mesh.silences(), ok.p, ok.s.now(), notice), status);
  });
  http.post<{ Params: { id: string } }>("/notifications/silences/:id/expire", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    try {
      await ok.s.mesh.expireSilence(req.params.id, ok.p.name);
      return reply.redirect("/notifications", 303);
    } catch (err) {
      if (!(err instanceof ConsoleError)) throw err;
      return send(reply, "Notifications", ok.p, "/notifications", notificationsPage(await ok.s.mesh.silences(), ok.p, ok.s.now(), err.message), err.status);
    }
  });

  http.get("/api/silences", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const f = await ok.s.mesh.silences();
    if (!f.data) return reply.code(503).send({ error: { code: "MIRROR_ERR_UNREACHABLE", message: f.error } });
    return { silences: f.data, ...(f.error ? { stale: f.error } : {}) };
  });
  http.post("/api/silences", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    try {
      return { silence: await ok.s.mesh.silence(silenceRequest(req.body), ok.p.name) };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  http.post<{ Params: { id: string } }>("/api/silences/:id/expire", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    try {
      return { silence: await ok.s.mesh.expireSilence(req.params.id, ok.p.name) };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  http.get("/ask", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    return send(reply, "Ask", ok.p, "/ask", askPage(ok.p));
  });
  http.post("/ask", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    const q = question(req.body);
    try {
      return send(reply, "Ask", ok.p, "/ask", askPage(ok.p, q, await tryAsk(ok.s, q)));
    } catch (err) {
      if (!(err instanceof ConsoleError)) throw err;
      return send(reply, "Ask", ok.p, "/ask", askPage(ok.p, q, undefined, err.message), err.status);
    }
  });
  http.post("/api/ask", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    try {
      const r = await tryAsk(ok.s, question(req.body));
      return { answer: r.answer, adapter: r.adapter, model: r.model };
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
