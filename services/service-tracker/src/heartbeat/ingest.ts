import { type Bus, PoisonError } from "@mirror/bus";
import { heartbeat } from "@mirror/contracts";
import { type Clock, type RouteAuth, refuse, replyError } from "@mirror/kit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { HeartbeatMonitor, PingKind } from "./monitor.js";
import type { PingKeys } from "./ping-keys.js";

/** Marks a check-in whose body carried no time: the handler uses the message's own time. */
const NO_TIME = "1970-01-01T00:00:00.000Z";
const KINDS = new Set(["success", "start", "fail"]);

/**
 * Turns what a job publishes on `mirror.heartbeat.<name>[.start|.fail]` into a Heartbeat:
 * plain messages with no CloudEvents headers and an empty or non-JSON body are check-ins too.
 */
export function decodeHeartbeat(payload: Uint8Array, subject: string): unknown {
  const text = new TextDecoder().decode(payload).trim();
  let body: Record<string, unknown> = {};
  if (text) {
    try {
      const j = JSON.parse(text) as unknown;
      body = j && typeof j === "object" && !Array.isArray(j) ? (j as Record<string, unknown>) : { message: text };
    } catch {
      body = { message: text.slice(0, 10_000) };
    }
  }
  const [, , name, suffix] = subject.split(".");
  const kind = suffix && KINDS.has(suffix) ? suffix : (body.kind ?? "success");
  return { ...body, name: name ?? body.name, kind, at: body.at ?? NO_TIME };
}

/** Consumes check-ins from the bus (durable: check-ins sent while the tracker was down still count). */
export function consumeHeartbeats(bus: Bus, monitor: HeartbeatMonitor): void {
  bus.consume(
    heartbeat,
    "service-tracker-heartbeats",
    async (data, ctx) => {
      const at = data.at === NO_TIME ? Date.parse(ctx.time) : Date.parse(data.at);
      const outcome = monitor.ping(data.name, data.kind, at, "bus");
      // As /ping answers 404: a check-in nobody watches is dead-lettered, so it is seen (and garbage too).
      if (outcome === "unknown")
        throw new PoisonError(
          `no heartbeat check named "${data.name}"; heartbeat checks: ${monitor.names().join(", ") || "none"}`,
        );
    },
    // Cron jobs check in with plain `nats pub` (the jobs identity): they cannot sign; a wrong signature is still refused.
    { decode: (payload, subject) => decodeHeartbeat(payload, subject), allowUnsigned: true },
  );
}

/** What /ping needs once the tracker has started. */
export interface PingTarget {
  monitor: HeartbeatMonitor;
  keys: PingKeys;
  clock: Clock;
  bus: Bus;
  /** Other checks' names and kinds, for a clearer 404 to a caller with the token. */
  kindOf(name: string): string | undefined;
}

type PingRequest = FastifyRequest<{ Params: { id: string; kind?: string } }>;

const notFound = (reply: FastifyReply, message: string) => replyError(reply, "MIRROR_ERR_UNKNOWN_HEARTBEAT", message);

/**
 * `GET|POST /ping/<key>` (and `/start`, `/fail`), as Healthchecks.io: the check's unguessable
 * ping key is the credential, so a job records a check-in with no token; `/ping/<name>` needs
 * the HTTP token (any method). An unknown key gets a 404 that names no check. Records the
 * check-in, then publishes it on the bus for the record (and any other tracker replica).
 */
export function pingRoutes(http: FastifyInstance, target: () => PingTarget | undefined, auth: RouteAuth): void {
  void http.register(async (app) => {
    app.addContentTypeParser("*", { parseAs: "string", bodyLimit: 10_000 }, (_req, body, done) => done(null, body));
    const handler = async (req: PingRequest, reply: FastifyReply) => {
      const t = target();
      if (!t) return replyError(reply, "MIRROR_ERR_NOT_READY", "the tracker is starting; try again");
      const kind = (req.params.kind ?? "success") as PingKind;
      if (req.params.kind !== undefined && kind !== "start" && kind !== "fail") {
        return replyError(
          reply,
          "MIRROR_ERR_NOT_FOUND",
          `unknown ping "${req.params.kind}": use /ping/<key>, /ping/<key>/start or /ping/<key>/fail`,
        );
      }
      const name = resolvePing(req, reply, t, auth);
      if (!name) return reply;
      const at = t.clock.now();
      const outcome = t.monitor.ping(name, kind, at, "http");
      const message = typeof req.body === "string" && req.body.length ? req.body.slice(0, 10_000) : undefined;
      const iso = new Date(at).toISOString();
      t.bus
        .publish(heartbeat, name, { name, kind, at: iso, message }, { id: `hb:${name}:${kind}:${at}` })
        .catch((err: Error) => {
          req.log.warn({ err: err.message }, "check-in not published on the bus");
        });
      return reply.code(200).send({ ok: true, name, kind, at: iso, outcome });
    };
    // `public`: the token hook stays out; resolvePing asks for the token where the name form needs it.
    for (const url of ["/ping/:id", "/ping/:id/:kind"])
      app.route<{ Params: { id: string; kind?: string } }>({
        method: ["GET", "POST"],
        url,
        config: { public: true },
        handler,
      });
  });
}

/** The heartbeat a ping is for, or undefined after answering 401/404. */
function resolvePing(req: PingRequest, reply: FastifyReply, t: PingTarget, auth: RouteAuth): string | undefined {
  const { id } = req.params;
  const byKey = t.keys.nameOf(id);
  if (byKey) return byKey;
  if (!auth.authorized(req)) {
    if (t.monitor.has(id)) {
      void refuse(reply, !!req.headers.authorization, true);
      return undefined;
    }
    void notFound(reply, "no check has this ping key");
    return undefined;
  }
  if (t.monitor.has(id)) return id;
  const other = t.kindOf(id);
  const known = t.monitor.names();
  void notFound(
    reply,
    other
      ? `"${id}" is a ${other} check, not a heartbeat`
      : `no heartbeat check named "${id}" and no check has this ping key; heartbeat checks: ${known.length ? known.join(", ") : "none (add one under tracker.checks with heartbeat: { every | cron, grace })"}`,
  );
  return undefined;
}
