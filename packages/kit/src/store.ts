import { Redis } from "ioredis";
import type { Logger } from "pino";

/** A Redis connection whose keys all live under `mirror:<service>:` (nobody reads another service's keys). */
export function createStore(url: string, service: string, log: Logger, opts: { prefix?: string } = {}): Redis {
  const redis = new Redis(url, {
    keyPrefix: opts.prefix ?? `mirror:${service}:`,
    connectionName: service,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(200 * times, 2_000),
  });
  let down = false;
  redis.on("error", (err) => {
    if (!down) log.warn({ err: err.message }, "store unavailable; retrying");
    down = true;
  });
  redis.on("ready", () => {
    if (down) log.info("store reconnected");
    down = false;
  });
  return redis;
}
