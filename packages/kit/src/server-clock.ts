import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import type { Clock } from "./clock.js";

/** A clock on the Redis server's time, measured from this host's; stop() ends its re-measuring. */
export interface ServerClock extends Clock {
  /** Server time minus local time (ms), from the last measure. */
  readonly offset: number;
  /** Measures again now (also runs every `everyMs`). */
  measure(): Promise<void>;
  stop(): void;
}

/** An offset past this is logged as a warning (NTP keeps hosts within milliseconds). */
const WARN_MS = 1_000;

/**
 * The time of the Redis server the replicas share, read on this host: `local() + offset`, the
 * offset measured with `TIME` (the sample with the shortest round trip of three, taken at its
 * middle) at start and every `everyMs`. Schedules that several replicas write and read in Redis
 * (due times, lease ends in a sorted set) are then on one timeline: a replica whose clock is
 * minutes off neither takes work early nor leaves a share behind it for those minutes. TTLs
 * (`PX`) need none of this: the server expires them by its own clock.
 *
 * A failed measure keeps the last offset (0 before the first).
 */
export async function serverClock(
  redis: Redis,
  opts: { log: Logger; registry?: Registry; local?: () => number; everyMs?: number },
): Promise<ServerClock> {
  const local = opts.local ?? (() => Date.now());
  let offset = 0;
  let warned = false;
  const gaugeName = "mirror_clock_offset_seconds";
  const gauge = opts.registry
    ? ((opts.registry.getSingleMetric(gaugeName) as Gauge | undefined) ??
      new Gauge({
        name: gaugeName,
        help: "The Redis server's time minus this host's (s), as used for the schedules replicas share",
        registers: [opts.registry],
      }))
    : undefined;
  const measure = async () => {
    let best: { rtt: number; offset: number } | undefined;
    try {
      for (let i = 0; i < 3; i++) {
        const t0 = local();
        const p0 = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("TIME took over 2 s")), 2_000);
        });
        const [s, us] = await Promise.race([redis.time(), late]).finally(() => clearTimeout(timer));
        const rtt = performance.now() - p0;
        const server = Number(s) * 1_000 + Math.floor(Number(us) / 1_000);
        const o = server - (t0 + rtt / 2);
        if (!best || rtt < best.rtt) best = { rtt, offset: o };
      }
    } catch (err) {
      opts.log.debug(
        { err: (err as Error).message },
        "could not read the Redis server's time; keeping the last offset",
      );
    }
    if (!best) return;
    offset = Math.round(best.offset);
    gauge?.set(offset / 1_000);
    const far = Math.abs(offset) > WARN_MS;
    if (far && !warned)
      opts.log.warn(
        { offsetMs: offset },
        "this host's clock differs from the Redis server's; schedules shared with other replicas use the server's time",
      );
    else if (!far && warned)
      opts.log.info({ offsetMs: offset }, "this host's clock agrees with the Redis server's again");
    warned = far;
  };
  await measure();
  const timer = setInterval(() => void measure(), opts.everyMs ?? 60_000);
  timer.unref?.();
  return {
    now: () => local() + offset,
    get offset() {
      return offset;
    },
    measure,
    stop: () => clearInterval(timer),
  };
}
