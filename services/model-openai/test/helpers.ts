import { parseConfig, type RunningService, runService, type ServiceSpec } from "@mirror/kit";
import { LogSink } from "@mirror/model-kit/testing";
import type { ServerHandle } from "@mirror/testkit";
import { raw } from "@mirror/bus/testing";

/** Runs the adapter in-process with this mirror.yaml against the test's NATS and Redis. */
export async function runAdapter(
  spec: ServiceSpec,
  yaml: string,
  servers: { nats: ServerHandle; redis: ServerHandle },
) {
  const logs = new LogSink();
  const config = parseConfig(yaml, { MIRROR_NATS_URL: servers.nats.url, MIRROR_REDIS_URL: servers.redis.url });
  const svc: RunningService = await runService(spec, { config, port: 0, logDest: logs as never });
  // The endpoints' subscriptions reach the server asynchronously; a flush makes them visible to callers.
  await raw(svc.ctx.bus).nc.flush();
  return { svc, logs };
}
