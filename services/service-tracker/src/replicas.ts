import { type Clock, leaseFor, ownerOf, Partition } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { type CheckConfig, checkSites, DEFAULT_SITE, hubSite, type TrackerConfig } from "@mirror/contracts";
import type { CheckShare } from "./active.js";

/** The scheduler id of the mesh discovery round, partitioned like a check. */
export const MESH_ITEM = "$mesh";

/** This replica's share of the checks, heartbeats and the mesh round among the live tracker replicas. */
export interface TrackerShare extends CheckShare {
  partition: Partition;
  stop(): Promise<void>;
}

/**
 * Joins the tracker's replicas: every check, heartbeat and the mesh round has one owner among
 * the live replicas (kit's Partition, leased in Redis). The lease follows the shortest interval
 * of the work, so a dead replica's checks move within two of their intervals.
 */
export async function joinReplicas(deps: {
  store: Redis;
  log: Logger;
  clock: Clock;
  shortestInterval: number;
  self?: string;
  /** Stops renewing while statuses cannot be published (kit's pauseWhenBusStalls). */
  pause?: () => string | undefined;
  /** After a pause, once the lease is renewed again (statuses are sent again). */
  onResume?: () => void;
  /** The partition group: replicas at one probe site share that site's checks (sitePartition). */
  group?: string;
}): Promise<TrackerShare> {
  const ttl = leaseFor(deps.shortestInterval);
  const renewEvery = Math.floor(ttl / 4);
  const listeners: Array<Parameters<CheckShare["onTakeOver"]>[0]> = [];
  const partition = new Partition({
    store: deps.store,
    group: deps.group ?? "checks",
    ttl,
    renewEvery,
    log: deps.log,
    // Probes are harmless to repeat: through a store outage each replica keeps its share.
    holdOnOutage: true,
    ...(deps.self ? { self: deps.self } : {}),
    ...(deps.pause ? { pause: deps.pause } : {}),
    ...(deps.onResume ? { onResume: deps.onResume } : {}),
    onChange: (change) => {
      if (change.left.length === 0) return;
      const left = new Set(change.left);
      const taken = (name: string) => partition.owns(name) && left.has(ownerOf(name, change.before) ?? "");
      // The departed replica was live at our previous successful round, so it renewed at most a
      // ttl before that (a store outage in between makes it longer): a slot since may be unrun.
      const missedSince = deps.clock.now() - change.lastSeenAgo - ttl;
      const n = { caughtUp: 0, onGrid: 0 };
      for (const l of listeners) {
        const r = l(taken, missedSince);
        n.caughtUp += r.caughtUp;
        n.onGrid += r.onGrid;
      }
      // What a gap in a check's probes after a replica died comes down to (test/scale-out.test.ts prints it).
      deps.log.info(
        { left: change.left, ...n, missedSinceAgoMs: deps.clock.now() - missedSince },
        `took over the checks of ${change.left.join(", ")}: ${n.caughtUp} run again now, ${n.onGrid} at their next slot`,
      );
    },
  });
  await partition.start();
  return {
    partition,
    owns: (name) => partition.owns(name),
    onTakeOver: (l) => void listeners.push(l),
    stop: () => partition.stop(),
  };
}

/**
 * The partition group of a site's replicas: `checks` at the default site (as before sites), else
 * `checks-<site>`, so replicas at two sites sharing one Redis still split only their own site's checks.
 */
export function sitePartition(site: string): string {
  return site === DEFAULT_SITE ? "checks" : `checks-${site}`;
}

/** The checks a tracker at `site` runs: those whose `sites` name it (heartbeats: only at the hub site). */
export function checksAtSite<T extends { cfg: CheckConfig }>(checks: T[], cfg: TrackerConfig): T[] {
  return checks.filter((c) => checkSites(c.cfg, cfg).includes(cfg.site));
}

/** The shortest interval of the tracker's work (probed checks, heartbeats judged at least this often, mesh rounds). */
export function shortestInterval(cfg: TrackerConfig): number {
  const intervals = cfg.checks
    .filter((c) => !c.heartbeat && checkSites(c, cfg).includes(cfg.site))
    .map((c) => c.interval);
  if (cfg.mesh.enabled && cfg.site === hubSite(cfg)) intervals.push(cfg.discoverEvery);
  return intervals.length ? Math.min(...intervals) : 30_000;
}
