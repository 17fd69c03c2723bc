import { leaseFor, Partition } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * Joins the scanner's replicas: each repo (by key) has one owner among the live replicas (kit's
 * Partition, leased in Redis). With a lease under one scan interval, a dead replica's repos are
 * scanned by the others within two intervals; a replica that comes back takes its share at its
 * next scan, one repo list, not a burst of every repo.
 */
export async function joinReplicas(deps: {
  store: Redis;
  log: Logger;
  interval: number;
  /** Stops renewing while snapshots cannot be published (kit's pauseWhenBusStalls). */
  pause?: () => string | undefined;
  /** After a pause, once the lease is renewed again (snapshots are published again). */
  onResume?: () => void;
}): Promise<Partition> {
  const partition = new Partition({
    store: deps.store,
    group: "repos",
    ttl: leaseFor(deps.interval),
    log: deps.log,
    // A scan is harmless to repeat: through a store outage each replica keeps its share.
    holdOnOutage: true,
    ...(deps.pause ? { pause: deps.pause } : {}),
    ...(deps.onResume ? { onResume: deps.onResume } : {}),
  });
  await partition.start();
  return partition;
}
