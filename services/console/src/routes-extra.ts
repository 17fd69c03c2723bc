import type { FastifyInstance, FastifyReply } from "fastify";
import type { Principal } from "./auth.js";
import { ConsoleError } from "./errors.js";
import type { Html } from "./html.js";
import { askPage } from "./pages/ask.js";
import { layout } from "./pages/layout.js";
import { sendError } from "./routes-api.js";
import { type ConsoleState, guard, type StateRef } from "./state.js";

const PUBLIC = { config: { public: true }, bodyLimit: 16 * 1024 } as const;

function send(
  reply: FastifyReply,
  title: string,
  user: Principal,
  path: string,
  body: Html,
  status = 200,
): FastifyReply {
  return reply.code(status).type("text/html; charset=utf-8").send(layout({ title, user, path, body }));
}

const question = (body: unknown) =>
  String((body as { question?: unknown } | undefined)?.question ?? "").slice(0, 4_000);

async function tryAsk(s: ConsoleState, q: string) {
  if (!q.trim()) throw new ConsoleError("MIRROR_ERR_BAD_INPUT", "the question is empty");
  return s.mesh.ask(q);
}

/** Ask: the page and its JSON API (Notifications are in routes-notifications.ts). */
export function extraRoutes(http: FastifyInstance, state: StateRef): void {
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
