import { traceCarrier } from "@mirror/bus";
import type { Clock } from "@mirror/kit";
import type { LoopEvent } from "@mirror/contracts";
import type { Logger } from "pino";
import { loopLabels, toAlert } from "../alert.js";
import { flushToDelivery } from "../flusher.js";
import { type FlushEnv, newGroup, upsertAlert } from "../group.js";
import { groupIdOf, groupKeyOf, updateGroup } from "../group-ops.js";
import { groupLabels, type Router, type Target } from "../routing.js";
import type { SendClaim } from "../deliverer.js";
import type { Delivery, NotifierStore } from "../store.js";

export interface LoopEventDeps {
  store: NotifierStore;
  router: Router;
  clock: Clock;
  log: Logger;
  /**
   * The flush view (silences, inhibition, quiet hours) at `now`, for flushing a group this event
   * made due at once (a `groupWait: 0s` route) in the commit that writes it, instead of leaving it
   * to the next tick: no tick's reads, second commit and claim between the event and its send.
   * Undefined, or resolving undefined (inhibit rules: they read which loops are active, this one
   * included, after its commit), leaves every flush to the tick.
   */
  flushNow?: {
    env(now: number): Promise<((target: Target, now: number) => FlushEnv) | undefined>;
    externalURL(): string;
    /** A claim for the delivery a flush creates, taken in the same commit when it is not parked (Deliverer.newClaim). */
    claim?(): SendClaim;
  };
}

/** What an event changed: whether a group is due now or later, and the deliveries it stored (claimed or not). */
export interface LoopEventOutcome {
  dueNow: boolean;
  dueAt?: number;
  /** Deliveries stored that still need a claim (parked ones included): the caller should look for due ones. */
  unclaimed: number;
  /** Deliveries stored and claimed by the commit: the caller sends them now. */
  claimed: { delivery: Delivery; claim: SendClaim }[];
}

/**
 * Puts the loop, as it is now, into every group its routes lead to. Idempotent: a revision
 * not newer than the one already recorded changes nothing (redeliveries, replays, reordering).
 * `dueNow`: a group it wrote is due to flush already (e.g. `groupWait: 0s`), so the caller
 * should not wait for the next tick.
 */
export async function onLoopEvent(event: LoopEvent, deps: LoopEventDeps): Promise<LoopEventOutcome> {
  const { loop } = event;
  const labels = loopLabels(loop);
  const targets = deps.router.targets(labels).map((target) => {
    const gl = groupLabels(target.groupBy, labels);
    return { target, gl, id: groupIdOf(target, gl) };
  });
  const ids = targets.map((t) => t.id);
  // What we know of the loop and its groups, read in one MGET (the groups depend only on the
  // event's labels); a redelivery wastes the group reads, every new event saves a round trip.
  // A route that sends at once reads its flush view beside them (the same write to Redis).
  const flushNow = deps.flushNow;
  let envRead =
    flushNow && targets.some((t) => t.target.policy.groupWait <= 0) ? flushNow.env(deps.clock.now()) : undefined;
  envRead?.catch(() => undefined);
  const { loop: seen, groups } = await deps.store.loadLoopAndGroups(loop.id, ids);
  if (seen && seen.rev >= loop.rev) return { dueNow: false, unclaimed: 0, claimed: [] };
  // A loop we never saw firing needs no message when it closes. Its revision is recorded, so an
  // older "opened" that another replica is still handling finds it newer and writes nothing.
  if (!seen && loop.status === "closed") {
    await deps.store.saveLoop(loop.id, { rev: loop.rev, groups: [] }, null);
    return { dueNow: false, unclaimed: 0, claimed: [] };
  }
  const now = deps.clock.now();
  // A group already due (its groupInterval ran out) is flushed with this news too.
  if (!envRead && flushNow && groups.some((g) => g.group && g.group.nextFlushAt <= now)) envRead = flushNow.env(now);
  const env = await envRead;
  const claim = env ? flushNow?.claim?.() : undefined;
  let dueNow = false;
  let unclaimed = 0;
  const claimed: LoopEventOutcome["claimed"] = [];
  let dueAt: number | undefined;
  const record = { rec: { rev: loop.rev, groups: ids }, activeLabels: loop.status === "open" ? labels : null };
  // A loop in one group that leaves no other: its record is saved by the group's own commit.
  const leaves = (seen?.groups ?? []).filter((old) => !ids.includes(old));
  const oneStep = targets.length === 1 && leaves.length === 0;
  let recorded = false;
  for (const [i, { target, gl, id }] of targets.entries()) {
    const activeFrom = target.escalation ? Date.parse(loop.openedAt) + target.escalateAfter : 0;
    const written = await updateGroup(
      deps.store,
      id,
      now,
      groups[i],
      (g) => {
        // No group to resolve in: its firing was never in one, or it already went out resolved
        // and ended the group (the same event taken again by another replica after a redelivery).
        if (!g && loop.status === "closed") return undefined;
        const base =
          g ??
          newGroup(
            {
              id,
              key: groupKeyOf(target, gl),
              channel: target.channel,
              route: target.route,
              escalation: target.escalation,
              labels: gl,
              epoch: `${now}-${loop.id}-${loop.rev}`,
            },
            now,
            target.policy,
          );
        const upserted = upsertAlert(base, toAlert(loop, base.alerts[loop.id], activeFrom), now, target.policy);
        if (!upserted) return undefined;
        const trace = traceCarrier();
        const next = trace ? { ...upserted, trace } : upserted;
        if (env && flushNow && next.nextFlushAt <= now)
          return flushToDelivery(next, now, target, env(target, now), flushNow.externalURL());
        return { group: next };
      },
      oneStep ? { id: loop.id, rev: loop.rev, record } : { id: loop.id, rev: loop.rev },
      claim,
    );
    if (written && oneStep) recorded = true;
    if (written?.delivery && written.claimed && claim) claimed.push({ delivery: written.delivery, claim });
    else if (written?.delivery) unclaimed++;
    if (written?.group && written.group.nextFlushAt <= now) dueNow = true;
    if (written?.group) dueAt = Math.min(dueAt ?? Number.POSITIVE_INFINITY, written.group.nextFlushAt);
  }
  for (const old of leaves) {
    // Routing moved the loop elsewhere (its severity or labels changed): it leaves the old group quietly.
    await updateGroup(
      deps.store,
      old,
      now,
      undefined,
      (g) => {
        if (!g?.alerts[loop.id]) return undefined;
        const { [loop.id]: _gone, ...alerts } = g.alerts;
        return { group: Object.keys(alerts).length ? { ...g, alerts } : null };
      },
      { id: loop.id, rev: loop.rev },
    );
  }
  if (!recorded) await deps.store.saveLoop(loop.id, record.rec, record.activeLabels);
  deps.log.debug({ loopId: loop.id, status: loop.status, rev: loop.rev, groups: ids.length }, "loop recorded");
  return { dueNow, dueAt, unclaimed, claimed };
}
