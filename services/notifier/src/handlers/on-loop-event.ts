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
 */
export async function onLoopEvent(event: LoopEvent, deps: LoopEventDeps): Promise<void> {
  const { loop } = event;
  const seen = await deps.store.loadLoop(loop.id);
  if (seen && seen.rev >= loop.rev) return;
  // A loop we never saw firing needs no message when it closes.
  if (!seen && loop.status === "closed") return;
  const now = deps.clock.now();
  const labels = loopLabels(loop);
  const ids: string[] = [];
  for (const target of deps.router.targets(labels)) {
    const gl = groupLabels(target.groupBy, labels);
    const id = groupIdOf(target, gl);
    ids.push(id);
    const activeFrom = target.escalation ? Date.parse(loop.openedAt) + target.escalateAfter : 0;
    await updateGroup(deps.store, id, now, (g) => {
      const base = g ?? newGroup({ id, key: groupKeyOf(target, gl), channel: target.channel, route: target.route, escalation: target.escalation, labels: gl, epoch: `${now}-${loop.id}-${loop.rev}` }, now, target.policy);
      const next = upsertAlert(base, toAlert(loop, base.alerts[loop.id], activeFrom), now, target.policy);
      const trace = traceCarrier();
      return next ? { group: trace ? { ...next, trace } : next } : undefined;
    });
  }
  for (const old of seen?.groups ?? []) {
    if (ids.includes(old)) continue;
    // Routing moved the loop elsewhere (its severity or labels changed): it leaves the old group quietly.
    await updateGroup(deps.store, old, now, (g) => {
      if (!g?.alerts[loop.id]) return undefined;
      const { [loop.id]: _gone, ...alerts } = g.alerts;
      return { group: Object.keys(alerts).length ? { ...g, alerts } : null };
    });
  }
  await deps.store.setActive(loop.id, loop.status === "open" ? labels : null);
  await deps.store.saveLoop(loop.id, { rev: loop.rev, groups: ids });
  deps.log.debug({ loopId: loop.id, status: loop.status, rev: loop.rev, groups: ids.length }, "loop recorded");
}
