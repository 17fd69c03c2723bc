import { CE, type EndpointContract } from "@mirror/contracts";
import type { Msg, NatsConnection, SubscriptionOptions } from "@nats-io/nats-core";
import { Svcm, type Service, type ServiceMsg } from "@nats-io/services";
import type { z } from "zod";
import type { BusCore as Bus } from "./core.js";
import { raw } from "./raw.js";
import { jsonNestsDeeperThan, MAX_DEPTH } from "./depth.js";
import { BusError, describeZodError } from "./errors.js";
import { headerOf } from "./headers.js";
import { withConsumerSpan } from "./tracing.js";

/** One request/reply endpoint: its contract and the function that answers it. */
export interface EndpointHandler<E extends EndpointContract = EndpointContract> {
  contract: E;
  handle: (req: z.output<E["request"]>, ctx: { source: string }) => Promise<z.input<E["reply"]>>;
  /** Queue group for this endpoint (defaults to the service's). */
  queue?: string;
}

export function endpoint<E extends EndpointContract>(
  contract: E,
  handle: EndpointHandler<E>["handle"],
  queue?: string,
): EndpointHandler {
  return { contract, handle, queue } as unknown as EndpointHandler;
}

export interface RegisteredService {
  readonly service: Service;
  stop(): Promise<void>;
}

/** Registers with the NATS Services API; every endpoint validates its request and reply. */
export async function addService(
  bus: Bus,
  spec: {
    name: string;
    version: string;
    description?: string;
    metadata?: Record<string, string>;
    queue?: string;
    endpoints?: EndpointHandler[];
  },
): Promise<RegisteredService> {
  const svcm = new Svcm(guardReplies(bus));
  const service = await svcm.add({
    name: spec.name.replace(/[^A-Za-z0-9_-]/g, "-"),
    version: spec.version,
    description: spec.description,
    metadata: spec.metadata,
    queue: spec.queue,
  });
  for (const ep of spec.endpoints ?? []) {
    const c = ep.contract;
    service.addEndpoint(c.name, {
      subject: c.subject,
      queue: ep.queue,
      metadata: { subject: c.subject },
      handler: (err, msg) => {
        if (err) {
          bus.log.error({ err }, "service endpoint failed");
          return;
        }
        void answer(bus, ep, msg);
      },
    });
  }
  // Make sure the server has every endpoint subscription before callers are told we are up.
  await raw(bus).nc.flush();
  return { service, stop: async () => void (await service.stop().catch(() => undefined)) };
}

async function answer(bus: Bus, ep: EndpointHandler, msg: ServiceMsg): Promise<void> {
  const c = ep.contract;
  const metrics = bus.metrics;
  const started = performance.now();
  const fail = (code: number, message: string) => {
    metrics.messages.inc({ subject: c.subject, direction: "reply", outcome: code < 500 ? "bad_request" : "error" });
    // The description travels in a header: a CR/LF there (JSON.parse quotes the request) throws and kills the process.
    const header = message.replace(/[\r\n]+/g, " ").slice(0, 1_000);
    msg.respondError(
      code,
      header,
      new TextEncoder().encode(JSON.stringify({ error: { code: String(code), message } })),
    );
  };
  // Measured on the text before it is parsed, as the consumer does with event payloads.
  if (jsonNestsDeeperThan(msg.data)) return fail(400, `request nests deeper than ${MAX_DEPTH} levels`);
  let json: unknown;
  try {
    json = JSON.parse(msg.string() || "{}");
  } catch (err) {
    return fail(400, `request is not JSON: ${(err as Error).message}`);
  }
  const req = c.request.safeParse(json);
  if (!req.success) return fail(400, `invalid ${c.name} request: ${describeZodError(req.error)}`);
  try {
    const out = await withConsumerSpan(
      `request ${c.subject}`,
      msg.headers,
      { "messaging.destination": c.subject, "mirror.service": bus.name },
      () => ep.handle(req.data, { source: headerOf(msg.headers, CE.source) ?? "anonymous" }),
    );
    const rep = c.reply.safeParse(out);
    if (!rep.success) return fail(500, `${c.name} produced an invalid reply: ${describeZodError(rep.error)}`);
    msg.respond(JSON.stringify(rep.data));
    metrics.messages.inc({ subject: c.subject, direction: "reply", outcome: "ok" });
  } catch (err) {
    const e = err as Error;
    const status = err instanceof BusError && !err.retryable ? 400 : 500;
    bus.log.warn({ err: e.message, endpoint: c.name }, "request failed");
    fail((err as { status?: number }).status ?? status, e.message);
  } finally {
    metrics.handleSeconds.observe({ subject: c.subject }, (performance.now() - started) / 1000);
  }
}

/** A reply subject is a client's inbox (`_INBOX.` or a per-identity `_INBOX_<name>.`), never an event subject. */
export function isReplyInbox(subject: string): boolean {
  return subject.startsWith("_INBOX.") || subject.startsWith("_INBOX_");
}

/**
 * The connection as the Services API sees it: every subscription (endpoints and $SRV
 * PING/INFO/STATS alike) drops a request whose reply subject is not an inbox, so a caller
 * cannot make a service "reply" onto an event subject it may publish to.
 */
function guardReplies(bus: Bus): NatsConnection {
  const nc = raw(bus).nc;
  const subscribe = (subject: string, opts?: SubscriptionOptions) => {
    const callback = opts?.callback;
    if (!callback) return nc.subscribe(subject, opts);
    return nc.subscribe(subject, {
      ...opts,
      callback: (err: Error | null, msg: Msg) => {
        if (!err && msg?.reply && !isReplyInbox(msg.reply)) {
          bus.metrics.messages.inc({ subject, direction: "reply", outcome: "refused_reply_subject" });
          bus.log.warn({ subject, reply: msg.reply }, "request refused: its reply subject is not an inbox");
          return;
        }
        callback(err, msg);
      },
    });
  };
  return new Proxy(nc, {
    get(target, prop) {
      if (prop === "subscribe") return subscribe;
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
