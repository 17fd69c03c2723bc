import type { MirrorConfig } from "@mirror/contracts";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { StoreLogin } from "./store-auth.js";

/** Where the store finds its master through Redis Sentinel (`store.sentinels`, `store.name`). */
export interface SentinelTarget {
  /** `host:port` of each sentinel. */
  sentinels: readonly string[];
  /** The master group name the sentinels monitor. */
  name: string;
  /** The sentinels' own password, when they have one (the master takes the service's login). */
  sentinelPassword?: string;
}

/** The sentinel part of a `store` config section, or undefined when it names none. */
export function sentinelTargetOf(store: MirrorConfig["store"]): SentinelTarget | undefined {
  if (!store.sentinels?.length) return undefined;
  return {
    sentinels: store.sentinels,
    name: store.name,
    ...(store.sentinelPassword ? { sentinelPassword: store.sentinelPassword } : {}),
  };
}

function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(addr.slice(i + 1)) };
}

/** ioredis options that ask the sentinels for the master and follow a failover to the promoted replica. */
function sentinelOptions(target: SentinelTarget): RedisOptions {
  return {
    sentinels: target.sentinels.map(hostPort),
    name: target.name,
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    // A dead master drops the socket: the store asks the sentinels again until they name the
    // promoted replica. A demoted master that still answers refuses writes with READONLY: that
    // reconnects too (and resends the command). No ioredis `failoverDetector`: when its
    // +switch-master message lands during a reconnect, ioredis 6 ends the connection for good
    // (seen in 1 of 6 kill -9 runs of test/store-sentinel).
    reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
    sentinelRetryStrategy: (times) => Math.min(200 * times, 2_000),
  };
}

/**
 * A Redis connection whose keys all live under `mirror:<service>:` (nobody reads another
 * service's keys). With `sentinel`, the master comes from Redis Sentinel and a failover is
 * followed; the login (from `url` or `opts.login`) is the master's, the sentinels take none.
 */
export function createStore(
  url: string,
  service: string,
  log: Logger,
  opts: { prefix?: string; login?: StoreLogin; sentinel?: SentinelTarget } = {},
): Redis {
  const redis = new Redis(url, {
    // The service's own ACL user (store.auth: identity), limited to its prefix.
    ...(opts.login ?? {}),
    ...(opts.sentinel ? sentinelOptions(opts.sentinel) : {}),
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
