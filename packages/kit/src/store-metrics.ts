import type { Redis } from "ioredis";
import { Gauge, type Registry } from "prom-client";

/**
 * `mirror_store_connected`: 1 while the service's Redis connection is ready. Read at scrape
 * time, so it is exact whenever Prometheus looks (the "Redis disconnected" alert rests on it).
 */
export function watchStore(store: Redis, registry: Registry): Gauge {
  return new Gauge({
    name: "mirror_store_connected",
    help: "1 while the Redis connection is ready",
    registers: [registry],
    collect() {
      this.set(store.status === "ready" ? 1 : 0);
    },
  });
}
