import { stableHash } from "@mirror/contracts";
import type { FlushEnv, GroupState } from "./group.js";
import { flushGroup } from "./group.js";
import { updateGroup } from "./group-ops.js";
import { groupMessage } from "./message.js";
import type { Router, Target } from "./routing.js";
import type { Delivery, NotifierStore } from "./store.js";

export interface FlushDeps {
  store: NotifierStore;
  router: Router;
  externalURL: string;
  /** The silence, inhibition and quiet-hours view at `now` for a group's target. */
  env(target: Target, now: number): FlushEnv;
}

/** A delivery's id: stable for one flush of one life of a group, so retries and restarts reuse it. */
export function deliveryId(group: GroupState, seq: number): string {
  return stableHash(["delivery", group.id, group.epoch, String(seq)], 24);
}

/** Flushes one due group: decides what it sends and stores the delivery with the group, atomically. */
export async function flushOne(id: string, now: number, deps: FlushDeps, loaded?: Awaited<ReturnType<NotifierStore["loadGroup"]>>): Promise<Delivery | null> {
  const result = await updateGroup(deps.store, id, now, loaded, (g) => {
    if (!g) return { group: null };
    if (g.nextFlushAt > now) return undefined;
    const target = deps.router.target(g.route, g.channel, g.escalation);
    // The channel or route was removed from the config: nothing more is owed through it.
    if (!target) return { group: null };
    const { group, draft } = flushGroup(g, now, target.policy, deps.env(target, now));
    if (!draft) return { group };
    const delivery: Delivery = {
      id: deliveryId(g, draft.seq),
      channel: g.channel,
      groupId: g.id,
      message: groupMessage(g, draft, deps.externalURL),
      createdAt: now,
      attempt: 0,
      state: "pending",
      lastError: null,
      ...(g.trace ? { trace: g.trace } : {}),
    };
    return { group, delivery };
  });
  return result?.delivery ?? null;
}

/**
 * Flushes every group that is due. Groups are independent (each one is changed by its own
 * compare-and-set), so they are flushed at once: one after another, a burst of due groups
 * cost two Redis round trips each, in series, and the deliveries waited behind them.
 */
export async function flushDue(now: number, deps: FlushDeps): Promise<Delivery[]> {
  const ids = await deps.store.dueGroups(now);
  const loaded = await deps.store.loadGroups(ids);
  const flushed = await Promise.all(ids.map((id, i) => flushOne(id, now, deps, loaded[i])));
  return flushed.filter((d): d is Delivery => d !== null);
}
