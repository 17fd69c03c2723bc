import { Loop, LoopEntity, type LoopStatus } from "@mirror/contracts";
import { z } from "zod";

/** A loop as stored: the published loop plus what only the detector needs. */
export const StoredLoop = z.object({
  loop: Loop,
  /** Closed by hand while its condition held: stays closed until the condition clears and comes back. */
  muted: z.boolean().default(false),
});
export type StoredLoop = z.infer<typeof StoredLoop>;

/** The latest observation of an entity; older or equal ones are ignored. */
export const Observation = z.object({
  source: z.enum(["repo", "service", "gone"]),
  at: z.number(),
  seq: z.number(),
  data: z.unknown(),
});
export type Observation = z.infer<typeof Observation>;

/** Everything the detector keeps about one entity (a repo or a service), stored as one document. */
export const EntityState = z.object({
  entity: LoopEntity,
  obs: Observation.nullable().default(null),
  /**
   * A check that runs at more than one probe site: the latest observation from each site (`obs`
   * is then their aggregate, by the check's quorum). Absent for every other entity.
   */
  sites: z.record(z.string(), Observation).optional(),
  /** Per rule: when the detector first saw a condition whose input does not say since when it holds. */
  firstSeen: z.record(z.string(), z.number()).default({}),
  /** Earliest time a holding condition becomes a loop (re-evaluated then by the tick). */
  pendingDue: z.number().nullable().default(null),
  /** Loops by kind; a closed loop is kept so its id and rev go on if it comes back. */
  loops: z.record(z.string(), StoredLoop).default({}),
});
export type EntityState = z.infer<typeof EntityState>;

export function emptyState(entity: LoopEntity): EntityState {
  return { entity, obs: null, firstSeen: {}, pendingDue: null, loops: {} };
}

/** What a change to one loop publishes: `opened`, `updated` or `closed`, with the whole loop. */
export interface LoopChange {
  event: "opened" | "updated" | "closed";
  loop: Loop;
  reason: string;
}

/** A computed new state of one entity and the loop events it publishes. */
export interface Mutation {
  state: EntityState;
  changes: LoopChange[];
}

export const isActive = (status: LoopStatus) => status !== "closed";

/** When the entity needs looking at again: a pending condition or the end of a snooze. */
export function wakeAt(state: EntityState): number | null {
  let t = state.pendingDue;
  for (const { loop } of Object.values(state.loops)) {
    if (loop.status === "snoozed" && loop.snoozedUntil) {
      const until = Date.parse(loop.snoozedUntil);
      t = t === null ? until : Math.min(t, until);
    }
  }
  return t;
}
