import { traceCarrier } from "@mirror/bus";
import type { Clock } from "@mirror/kit";
import type { LoopEvent } from "@mirror/contracts";
import type { Logger } from "pino";
import { loopLabels, toAlert } from "../alert.js";
import { newGroup, upsertAlert } from "../group.js";
import { groupIdOf, groupKeyOf, updateGroup } from "../group-ops.js";
import { groupLabels, type Router } from "../routing.js";
import type { NotifierStore } from "../store.js";

export interface LoopEventDeps {
  store: NotifierStore;
  router: Router;
  clock: Clock;
  log: Logger;
}

/**
 * Puts the loop, as it is now, into every group its routes lead to. Idempotent: a revision
 * not newer than the one already recorded changes nothing (redeliveries, replays, reordering).
 * `dueNow`: a group it wrote is due to flush already (e.g. `groupWait: 0s`), so the caller
 * should not wait for the next tick.
 */
export async function onLoopEvent(event: LoopEvent, deps: LoopEventDeps): Promise<{ dueNow: boolean; dueAt?: number }> {
  const { loop } = event;
  const labels = loopLabels(loop);
  const targets = deps.router.targets(labels).map((target) => {
    const gl = groupLabels(target.groupBy, labels);
    return { target, gl, id: groupIdOf(target, gl) };
  });
  const ids = targets.map((t) => t.id);
  // What we know of the loop and its groups, read in one MGET (the groups depend only on the
  // event's labels); a redelivery wastes the group reads, every new event saves a round trip.
  const { loop: seen, groups } = await deps.store.loadLoopAndGroups(loop.id, ids);
  if (seen && seen.rev >= loop.rev) return { dueNow: false };
  // A loop we never saw firing needs no message when it closes. Its revision is recorded, so an
  // older "opened" that another replica is still handling finds it newer and writes nothing.
  if (!seen && loop.status === "closed") {
    await deps.store.saveLoop(loop.id, { rev: loop.rev, groups: [] }, null);
    return { dueNow: false };
  }
  const now = deps.clock.now();
  let dueNow = false;
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
        const next = upsertAlert(base, toAlert(loop, base.alerts[loop.id], activeFrom), now, target.policy);
        const trace = traceCarrier();
        return next ? { group: trace ? { ...next, trace } : next } : undefined;
      },
      oneStep ? { id: loop.id, rev: loop.rev, record } : { id: loop.id, rev: loop.rev },
    );
    if (written && oneStep) recorded = true;
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
  return { dueNow, dueAt };
}
