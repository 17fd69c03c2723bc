import { CE, type EndpointContract, remoteErrorCode } from "@mirror/contracts";
import type { Msg } from "@nats-io/nats-core";
import type { z } from "zod";
import type { BusCore as Bus } from "./core.js";
import { headerOf, natsHeadersOf } from "./headers.js";
import { raw } from "./raw.js";
import { describeZodError, RequestError, ValidationError } from "./errors.js";
import { isNoResponders } from "./nats-errors.js";
import { injectTrace } from "./tracing.js";

/** Calls a request/reply endpoint; the request and reply are validated against its contract. */
export async function requestEndpoint<E extends EndpointContract>(
  bus: Bus,
  endpoint: E,
  data: unknown,
  opts: { timeout?: number } = {},
): Promise<z.output<E["reply"]>> {
  const req = endpoint.request.safeParse(data);
  if (!req.success)
    throw new ValidationError(`invalid ${endpoint.name} request: ${describeZodError(req.error)}`, req.error);
  const h: Record<string, string> = { [CE.source]: bus.name };
  injectTrace(h);
  const hdrs = natsHeadersOf(h);
  let msg: Msg;
  try {
    msg = await raw(bus).nc.request(endpoint.subject, JSON.stringify(req.data), {
      timeout: opts.timeout ?? 5_000,
      headers: hdrs,
    });
  } catch (err) {
    const code = isNoResponders(err) ? "MIRROR_ERR_NO_RESPONDERS" : "MIRROR_ERR_TIMEOUT";
    bus.metrics.messages.inc({
      subject: endpoint.subject,
      direction: "request",
      outcome: code === "MIRROR_ERR_TIMEOUT" ? "timeout" : "no_responders",
    });
    throw new RequestError(code, `${endpoint.subject}: ${(err as Error).message}`, err);
  }
  const remoteErr = headerOf(msg.headers, "Nats-Service-Error");
  if (remoteErr) {
    const code = headerOf(msg.headers, "Nats-Service-Error-Code") ?? "500";
    bus.metrics.messages.inc({ subject: endpoint.subject, direction: "request", outcome: "remote_error" });
    throw new RequestError(remoteErrorCode(code), `${endpoint.subject} answered ${code}: ${remoteErr}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(msg.string());
  } catch (err) {
    throw new RequestError("MIRROR_ERR_BAD_REPLY", `${endpoint.subject} replied with non-JSON`, err);
  }
  const rep = endpoint.reply.safeParse(json);
  if (!rep.success) {
    bus.metrics.messages.inc({ subject: endpoint.subject, direction: "request", outcome: "bad_reply" });
    throw new RequestError(
      "MIRROR_ERR_BAD_REPLY",
      `${endpoint.subject} reply invalid: ${describeZodError(rep.error)}`,
      rep.error,
    );
  }
  bus.metrics.messages.inc({ subject: endpoint.subject, direction: "request", outcome: "ok" });
  return rep.data as z.output<E["reply"]>;
}
