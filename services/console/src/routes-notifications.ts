import type { MaintenanceAddRequest } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Principal } from "./auth.js";
import { ConsoleError } from "./errors.js";
import { layout } from "./pages/layout.js";
import { loadNotifications, notificationsPage } from "./pages/notifications.js";
import { sendError } from "./routes-api.js";
import { type ConsoleState, guard, redirectWithNotice, type StateRef, takeNotice } from "./state.js";

const PUBLIC = { config: { public: true }, bodyLimit: 16 * 1024 } as const;

/** A silence from a form or JSON: matchers as a list or as one space-separated string. */
function silenceRequest(body: unknown): { matchers: string[]; for: string; comment?: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  const matchers = Array.isArray(b.matchers)
    ? b.matchers.map(String)
    : String(b.matchers ?? "")
        .split(/\s+/)
        .filter(Boolean);
  if (!matchers.length)
    throw new ConsoleError("MIRROR_ERR_BAD_INPUT", "a silence needs at least one matcher, e.g. alertname=repo.dirty");
  return {
    matchers,
    for: typeof b.for === "string" && b.for ? b.for : "2h",
    ...(typeof b.comment === "string" && b.comment ? { comment: b.comment.slice(0, 500) } : {}),
  };
}

/** A list from JSON (an array) or a form field (names separated by spaces or commas). */
function names(v: unknown): string[] {
  const all = Array.isArray(v) ? v.map(String) : typeof v === "string" ? v.split(/[\s,]+/) : [];
  return all
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, 100);
}

const text = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim().slice(0, 200) : undefined);

/**
 * A maintenance window from a form or JSON: `name`, matchers as `match: { check, repo, kind }` or
 * as top-level `check` / `repo` / `kind`, and `for`, `until` (ISO; UTC when it names no zone) or
 * `cron` + `duration` (+ `tz`). The loop-detector checks the rest (400) and the name (409).
 */
export function maintenanceRequest(body: unknown): Omit<MaintenanceAddRequest, "by"> {
  const b = (body ?? {}) as Record<string, unknown>;
  const m = (b.match && typeof b.match === "object" ? b.match : b) as Record<string, unknown>;
  const match = Object.fromEntries(
    (["check", "repo", "kind"] as const).flatMap((k) => (names(m[k]).length ? [[k, names(m[k])]] : [])),
  );
  const name = text(b.name);
  if (!name) throw new ConsoleError("MIRROR_ERR_BAD_INPUT", "a maintenance window needs a name");
  if (!Object.keys(match).length)
    throw new ConsoleError(
      "MIRROR_ERR_BAD_INPUT",
      "a maintenance window needs at least one check, repo or kind to match",
    );
  let until = text(b.until);
  if (until && /T\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(until)) until = `${until.length === 16 ? `${until}:00` : until}Z`;
  const cron = text(b.cron);
  // A form sends its default `for` along with an `until` or a cron: the more specific one wins.
  const dflt = until || cron ? undefined : text(b.for);
  return {
    name,
    match,
    ...(dflt ? { for: dflt } : {}),
    ...(until ? { until } : {}),
    ...(cron ? { cron } : {}),
    ...(text(b.duration) ? { duration: text(b.duration) } : {}),
    ...(text(b.tz) ? { tz: text(b.tz) } : {}),
  };
}

async function page(
  reply: FastifyReply,
  s: ConsoleState,
  p: Principal,
  notice?: string,
  status = 200,
): Promise<FastifyReply> {
  const body = notificationsPage(await loadNotifications(s.mesh), p, s.now(), notice);
  return reply
    .code(status)
    .type("text/html; charset=utf-8")
    .send(layout({ title: "Notifications", user: p, path: "/notifications", body }));
}

/** Runs a form's action: on success back to the page with what happened (Post/Redirect/Get), on failure the page with the error and its status. */
async function formAction(
  reply: FastifyReply,
  s: ConsoleState,
  p: Principal,
  act: () => Promise<string>,
): Promise<FastifyReply> {
  try {
    return await redirectWithNotice(reply, s, p, "/notifications", await act());
  } catch (err) {
    if (!(err instanceof ConsoleError)) throw err;
    return page(reply, s, p, err.message, err.status);
  }
}

/** The Notifications page and its JSON API: delivery log, maintenance windows, silences. */
export function notificationRoutes(http: FastifyInstance, state: StateRef): void {
  http.get("/notifications", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    return page(reply, ok.s, ok.p, await takeNotice(ok.s, ok.p));
  });
  http.post("/notifications/silences", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    return formAction(
      reply,
      ok.s,
      ok.p,
      async () => `Silenced until ${(await ok.s.mesh.silence(silenceRequest(req.body), ok.p.name)).until}.`,
    );
  });
  http.post<{ Params: { id: string } }>("/notifications/silences/:id/expire", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    return formAction(reply, ok.s, ok.p, async () => {
      await ok.s.mesh.expireSilence(req.params.id, ok.p.name);
      return "Silence expired.";
    });
  });
  http.post("/notifications/maintenance", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    return formAction(reply, ok.s, ok.p, async () => {
      const w = await ok.s.mesh.addMaintenance(maintenanceRequest(req.body), ok.p.name);
      ok.s.log.info({ user: ok.p.name, window: w.name }, "maintenance window added");
      return `Maintenance window ${w.name} added${w.activeUntil ? `, on until ${w.activeUntil}` : ""}.`;
    });
  });
  http.post<{ Params: { name: string } }>("/notifications/maintenance/:name/end", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    return formAction(reply, ok.s, ok.p, async () => {
      const w = await ok.s.mesh.endMaintenance(req.params.name, ok.p.name);
      ok.s.log.info({ user: ok.p.name, window: w.name }, "maintenance window ended");
      return `Maintenance window ${w.name} ended.`;
    });
  });

  http.get("/api/notifications", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const q = req.query as { channel?: unknown; limit?: unknown };
    const limit = Math.min(500, Math.max(1, Number(q.limit) || 50));
    const channel = typeof q.channel === "string" && q.channel ? q.channel : undefined;
    const [f, silences] = await Promise.all([ok.s.mesh.deliveries(limit, channel), ok.s.mesh.silences()]);
    if (!f.data) return replyError(reply, "MIRROR_ERR_UNREACHABLE", f.error);
    const stale = [f.error, silences.error].filter(Boolean).join("; ");
    return {
      channels: f.data.channels,
      kept: f.data.kept,
      silences: silences.data ?? [],
      at: new Date(f.at as number).toISOString(),
      ...(stale ? { stale } : {}),
    };
  });

  http.get("/api/silences", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const f = await ok.s.mesh.silences();
    if (!f.data) return replyError(reply, "MIRROR_ERR_UNREACHABLE", f.error);
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

  http.get("/api/maintenance", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    const f = await ok.s.mesh.maintenance();
    if (!f.data) return replyError(reply, "MIRROR_ERR_UNREACHABLE", f.error);
    return { windows: f.data, at: new Date(f.at as number).toISOString(), ...(f.error ? { stale: f.error } : {}) };
  });
  http.post("/api/maintenance", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    try {
      const window = await ok.s.mesh.addMaintenance(maintenanceRequest(req.body), ok.p.name);
      ok.s.log.info({ user: ok.p.name, window: window.name }, "maintenance window added");
      return { window };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  http.post<{ Params: { name: string } }>("/api/maintenance/:name/end", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state, { act: true });
    if (!ok) return reply;
    try {
      const window = await ok.s.mesh.endMaintenance(req.params.name, ok.p.name);
      ok.s.log.info({ user: ok.p.name, window: window.name }, "maintenance window ended");
      return { window };
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
