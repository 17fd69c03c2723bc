import type { FastifyInstance, FastifyReply } from "fastify";
import type { Principal } from "./auth.js";
import { ConsoleError } from "./errors.js";
import { historyClientOf } from "./history-client.js";
import type { Html } from "./html.js";
import { LOOP_ACTIONS, type LoopAction } from "./mesh.js";
import { layout } from "./pages/layout.js";
import { notFoundPage } from "./pages/login.js";
import { loopFilter, loopPage, loopsPage } from "./pages/loops.js";
import { overviewPage } from "./pages/overview.js";
import { reposPage } from "./pages/repos.js";
import { servicesPage } from "./pages/services.js";
import { snoozeFor } from "./routes-api.js";
import { guard, redirectWithNotice, type StateRef, takeNotice } from "./state.js";

const PUBLIC = { config: { public: true }, bodyLimit: 16 * 1024 } as const;

function send(
  reply: FastifyReply,
  title: string,
  user: Principal,
  path: string,
  body: Html,
  opts: { status?: number; loopId?: string } = {},
): FastifyReply {
  return reply
    .code(opts.status ?? 200)
    .type("text/html; charset=utf-8")
    .send(layout({ title, user, path, body, loopId: opts.loopId }));
}

/** The server-rendered pages; each reads through the bus and works without JavaScript. */
export function pageRoutes(http: FastifyInstance, state: StateRef): void {
  http.get("/", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const [loops, checks, scanned, trend] = await Promise.all([
      ok.s.mesh.loops({}),
      ok.s.mesh.checks(),
      ok.s.mesh.repos(),
      historyClientOf(ok.s.mesh, ok.s.now)
        .trend(90)
        .catch(() => undefined),
    ]);
    return send(reply, "Overview", ok.p, "/", overviewPage(loops, checks, scanned, ok.s.adapter, ok.s.now(), trend));
  });

  http.get("/loops", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const loops = await ok.s.mesh.loops({});
    return send(
      reply,
      "Loops",
      ok.p,
      "/loops",
      loopsPage(loops, loopFilter(req.query as Record<string, unknown>), ok.s.now()),
    );
  });

  const showLoop = async (
    reply: FastifyReply,
    ok: NonNullable<Awaited<ReturnType<typeof guard>>>,
    id: string,
    notice?: { status: number; message: string },
  ) => {
    try {
      const f = await ok.s.mesh.loop(id);
      return send(reply, f.data?.kind ?? "Loop", ok.p, "/loops", loopPage(f, ok.p, ok.s.now(), notice?.message), {
        status: notice?.status,
        loopId: id,
      });
    } catch (err) {
      if (err instanceof ConsoleError && err.status === 404)
        return send(reply, "Not found", ok.p, "/loops", notFoundPage(`No loop ${id}.`), { status: 404 });
      throw err;
    }
  };

  http.get<{ Params: { id: string } }>("/loops/:id", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    return showLoop(reply, ok, req.params.id);
  });

  // The buttons are plain forms: they work without JavaScript and come back to the loop's page.
  http.post<{ Params: { id: string; action: string } }>("/loops/:id/:action", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    const action = req.params.action as LoopAction;
    if (!LOOP_ACTIONS.includes(action))
      return send(reply, "Not found", ok.p, "/loops", notFoundPage(`No action ${action}.`), { status: 404 });
    try {
      await ok.s.mesh.act(req.params.id, action, ok.p.name, action === "snooze" ? snoozeFor(req.body) : undefined);
      ok.s.log.info({ user: ok.p.name, loopId: req.params.id, action }, "loop command");
      return reply.redirect(`/loops/${encodeURIComponent(req.params.id)}`, 303);
    } catch (err) {
      if (!(err instanceof ConsoleError)) throw err;
      return showLoop(reply, ok, req.params.id, { status: err.status, message: err.message });
    }
  });

  http.get("/services", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const checks = await ok.s.mesh.checks();
    const history = await ok.s.mesh.history((checks.data ?? []).map((c) => c.name));
    return send(
      reply,
      "Services",
      ok.p,
      "/services",
      servicesPage(checks, history, ok.s.now(), (c) => ok.s.sites?.view(c)),
    );
  });

  http.get("/repos", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const [loops, scanned, notice] = await Promise.all([
      ok.s.mesh.loops({}),
      ok.s.mesh.repos(),
      takeNotice(ok.s, ok.p),
    ]);
    return send(reply, "Repos", ok.p, "/repos", reposPage(loops, scanned, ok.p, ok.s.now(), notice));
  });

  http.post("/repos/rescan", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    try {
      const r = await ok.s.mesh.rescan();
      const notice = `Scanned ${r.repos} repos, ${r.published} snapshots published.`;
      return await redirectWithNotice(reply, ok.s, ok.p, "/repos", notice);
    } catch (err) {
      if (!(err instanceof ConsoleError)) throw err;
      const [loops, scanned] = await Promise.all([ok.s.mesh.loops({}), ok.s.mesh.repos()]);
      const body = reposPage(loops, scanned, ok.p, ok.s.now(), err.message);
      return send(reply, "Repos", ok.p, "/repos", body, { status: err.status });
    }
  });
}
