import { stableHash } from "@mirror/contracts";
import type { FlushEnv, GroupState } from "./group.js";
import { flushGroup } from "./group.js";
import { updateGroup } from "./group-ops.js";
import { groupMessage } from "./message.js";
import type { Router, Target } from "./routing.js";
import type { Delivery, LoadedGroup, NotifierStore } from "./store.js";

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

/**
 * What a due group sends now: the group as it is afterwards (null once nothing is left in it)
 * and, when there is news or a reminder, the delivery to store with it in the same commit.
 */
export function flushToDelivery(
  g: GroupState,
  now: number,
  target: Target,
  env: FlushEnv,
  externalURL: string,
): { group: GroupState | null; delivery?: Delivery } {
  const { group, draft } = flushGroup(g, now, target.policy, env);
  if (!draft) return { group };
  const delivery: Delivery = {
    id: deliveryId(g, draft.seq),
    channel: g.channel,
    groupId: g.id,
    message: { ...groupMessage(g, draft, externalURL), thread: deliveryId(g, 1) },
    createdAt: now,
    attempt: 0,
    state: "pending",
    lastError: null,
    ...(g.trace ? { trace: g.trace } : {}),
  };
  return { group, delivery };
}

/** Flushes one due group: decides what it sends and stores the delivery with the group, atomically. */
export async function flushOne(
  id: string,
  now: number,
  deps: FlushDeps,
  loaded?: LoadedGroup,
): Promise<Delivery | null> {
  const result = await updateGroup(deps.store, id, now, loaded, (g) => {
    if (!g) return { group: null };
    if (g.nextFlushAt > now) return undefined;
    const target = deps.router.target(g.route, g.channel, g.escalation);
    // The channel or route was removed from the config: nothing more is owed through it.
    if (!target) return { group: null };
    return flushToDelivery(g, now, target, deps.env(target, now), deps.externalURL);
  });
  return result?.delivery ?? null;
}

/** Due groups read and flushed per round of a tick. */
const FLUSH_BATCH = 100;
/** Rounds per tick at most (a group that stays due, e.g. one that keeps conflicting, cannot spin a tick). */
const FLUSH_ROUNDS = 50;

/**
 * Flushes every group that is due, a batch at a time until fewer than a batch are left: a tick
 * that took one batch only capped deliveries at a batch per tick, and a tick slows down when the
 * process is busy (a storm of events over many groups), which is when the most groups are due.
 * Groups are independent (each one is changed by its own compare-and-set), so a batch is flushed
 * at once: one after another, a burst cost two Redis round trips each, in series.
 */
export async function flushDue(now: number, deps: FlushDeps): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (let round = 0; round < FLUSH_ROUNDS; round++) {
    const due = await deps.store.dueGroups(now, FLUSH_BATCH);
    const flushed = await Promise.all(due.map(({ id, loaded }) => flushOne(id, now, deps, loaded)));
    for (const d of flushed) if (d) out.push(d);
    if (due.length < FLUSH_BATCH) break;
  }
  return out;
}
