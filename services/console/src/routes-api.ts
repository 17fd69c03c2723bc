import { parseDuration } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyInstance, FastifyReply } from "fastify";
import { ConsoleError } from "./errors.js";
import { resyncFrame, sseFrame } from "./live.js";
import { LOOP_ACTIONS, type LoopAction } from "./mesh.js";
import { applyFilter, loopFilter } from "./pages/loops.js";
import { reposOf } from "./pages/repos.js";
import { guard, type StateRef } from "./state.js";

const PUBLIC = { config: { public: true }, bodyLimit: 16 * 1024 } as const;

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof ConsoleError) return replyError(reply, err.code, err.message, err.status);
  throw err;
}

/** The snooze duration from a body: one of "30m", "2h", "1d" ...; a ConsoleError 400 otherwise. */
export function snoozeFor(body: unknown): string {
  const v = (body as { for?: unknown } | undefined)?.for ?? "1h";
  try {
    if (typeof v !== "string" || parseDuration(v) <= 0) throw new Error("not positive");
    return v;
  } catch {
    throw new ConsoleError("MIRROR_ERR_BAD_INPUT", `snooze needs a duration such as "1h" or "1d" in "for"`);
  }
}

/** The JSON API: everything the pages show and do. */
export function apiRoutes(http: FastifyInstance, state: StateRef): void {
  http.get("/api/loops", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const f = await ok.s.mesh.loops({});
    if (!f.data) return replyError(reply, "MIRROR_ERR_UNREACHABLE", f.error);
    return {
      loops: applyFilter(f.data, loopFilter(req.query as Record<string, unknown>)),
      at: new Date(f.at as number).toISOString(),
      ...(f.error ? { stale: f.error } : {}),
    };
  });

  http.get<{ Params: { id: string } }>("/api/loops/:id", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    try {
      const f = await ok.s.mesh.loop(req.params.id);
      if (!f.data) return replyError(reply, "MIRROR_ERR_UNREACHABLE", f.error);
      return { loop: f.data, ...(f.error ? { stale: f.error } : {}) };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  http.post<{ Params: { id: string; action: string } }>("/api/loops/:id/:action", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    const action = req.params.action as LoopAction;
    if (!LOOP_ACTIONS.includes(action)) return replyError(reply, "MIRROR_ERR_NOT_FOUND", `no action ${action}`);
    try {
      const loop = await ok.s.mesh.act(
        req.params.id,
        action,
        ok.p.name,
        action === "snooze" ? snoozeFor(req.body) : undefined,
      );
      ok.s.log.info({ user: ok.p.name, loopId: loop.id, action }, "loop command");
      return { loop };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  http.get("/api/services", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const f = await ok.s.mesh.checks();
    if (!f.data) return replyError(reply, "MIRROR_ERR_UNREACHABLE", f.error);
    const history = new Map(((await ok.s.mesh.history(f.data.map((c) => c.name))).data ?? []).map((h) => [h.name, h]));
    const checks = f.data.map(({ pingKey: _, ...c }) => ({
      ...c,
      uptime: history.get(c.name)?.uptime ?? null,
      incidents: history.get(c.name)?.incidentCount ?? null,
    }));
    return { checks, ...(f.error ? { stale: f.error } : {}) };
  });

  http.get("/api/repos", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const [f, scanned] = await Promise.all([ok.s.mesh.loops({}), ok.s.mesh.repos()]);
    if (!f.data && !scanned.data) return replyError(reply, "MIRROR_ERR_UNREACHABLE", f.error ?? scanned.error);
    const stale = [f.error, scanned.error].filter(Boolean).join("; ");
    return {
      repos: reposOf(f.data ?? [], scanned.data?.repos),
      lastScanAt: scanned.data?.lastScanAt ?? null,
      ...(stale ? { stale } : {}),
    };
  });

  http.post("/api/repos/rescan", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    try {
      return await ok.s.mesh.rescan();
    } catch (err) {
      return sendError(reply, err);
    }
  });

  // Server-Sent Events: one frame per live event; a reconnect with Last-Event-ID gets what it missed,
  // or a `resync` (fetch the page again) when the hub cannot tell what that was.
  http.get("/api/events", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const { s } = ok;
    const last = Number(req.headers["last-event-id"]);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 1000\n\n");
    // Subscribing first: the first watcher starts the live feeds, which marks a gap in the hub.
    const off = s.hub.subscribe((e) => res.write(sseFrame(e)));
    if (!Number.isFinite(last)) res.write(`id: ${s.hub.position}\n\n`);
    else if (s.hub.complete(last)) for (const e of s.hub.since(last)) res.write(sseFrame(e));
    else res.write(resyncFrame(s.hub.position));
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    s.streams.add(res);
    res.on("close", () => {
      off();
      clearInterval(ping);
      s.streams.delete(res);
    });
  });
}
