import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, LogController } from "fastify";
import { type ErrorCode, errorCodeOf, errorSpec } from "@mirror/contracts";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { addTokenAuth, type HttpAuthOptions } from "./http-auth.js";

/** Builds (does not listen) the service's HTTP app with /healthz, /readyz and /metrics. */
export function buildHttp(opts: {
  log: Logger;
  registry: Registry;
  ready: () => Record<string, boolean>;
  auth?: HttpAuthOptions;
  readyInfo?: () => Record<string, unknown>;
}): FastifyInstance {
  // No log line per request (scrapes of /metrics every few seconds): through a LogController,
  // as Fastify 5.8+ asks (the top-level disableRequestLogging prints FSTDEP023 at every start).
  const app = Fastify({
    loggerInstance: opts.log.child({ component: "http" }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  }) as unknown as FastifyInstance;
  addTokenAuth(app, opts.auth ?? {}, (req) =>
    opts.log.warn({ method: req.method, url: req.url.split("?")[0] }, "request refused: no valid bearer token"),
  );
  app.get("/healthz", { config: { public: true } }, async () => ({ ok: true }));
  app.get("/readyz", { config: { public: true } }, async (_req, reply) => {
    const checks = opts.ready();
    const ok = Object.values(checks).every(Boolean);
    return reply.code(ok ? 200 : 503).send({ ok, checks, ...opts.readyInfo?.() });
  });
  app.get("/metrics", async (_req, reply) => {
    return reply.header("content-type", opts.registry.contentType).send(await opts.registry.metrics());
  });
  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) opts.log.error({ err }, "request failed");
    return reply.code(status).send({
      error: {
        code: errorCodeOf(err) ?? ("MIRROR_ERR_HTTP" satisfies ErrorCode),
        message: err instanceof Error ? err.message : String(err),
      },
    });
  });
  return app;
}

/** Answers an error of the registry: its status (unless the caller passes another) and `{ error: { code, message } }`. */
export function replyError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string | undefined,
  status = errorSpec(code).status,
): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}
