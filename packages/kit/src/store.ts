import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { StoreLogin } from "./store-auth.js";

/** A Redis connection whose keys all live under `mirror:<service>:` (nobody reads another service's keys). */
export function createStore(url: string, service: string, log: Logger, opts: { prefix?: string; login?: StoreLogin } = {}): Redis {
  const redis = new Redis(url, {
    // The service's own ACL user (store.auth: identity), limited to its prefix.
    ...(opts.login ?? {}),
    keyPrefix: opts.prefix ?? `mirror:${service}:`,
    connectionName: service,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(200 * times, 2_000),
    // Commands issued in the same tick go out in one write: on this kind of VM a socket write is
    // the single biggest CPU cost of a Redis round trip (a quarter of a busy service's profile).
    enableAutoPipelining: true,
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
