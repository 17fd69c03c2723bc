import { RetryableError } from "@mirror/bus";
import { stableHash } from "@mirror/contracts";
import type { GroupState } from "./group.js";
import type { Target } from "./routing.js";
import type { CommitClaim, Delivery, LoadedGroup, LoopRevision, NotifierStore } from "./store.js";

/** The Redis id of the group an alert joins through `target`. */
export function groupIdOf(target: Target, labels: Record<string, string>): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return stableHash([
    "group",
    target.route,
    target.channel,
    target.escalation ? "escalation" : "",
    JSON.stringify(pairs),
  ]);
}

/** Alertmanager-style group key: `{}/<route>:{alertname="repo.dirty"}`. */
export function groupKeyOf(target: Target, labels: Record<string, string>): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(", ");
  return `{}/${target.route}${target.escalation ? "/escalation" : ""}:{${inner}}`;
}

/**
 * Changes one group with optimistic concurrency: `change` gets the current group (or undefined)
 * and returns the next one, null to delete it, or undefined for no change. Retries on conflict.
 */
export async function updateGroup(
  store: NotifierStore,
  id: string,
  now: number,
  /** The group as just read by the caller (saves the first read); a conflict reads it again. */
  loaded: LoadedGroup | undefined,
  change: (g: GroupState | undefined) => { group: GroupState | null; delivery?: Delivery | null } | undefined,
  /** The loop revision this change carries: nothing is written once a newer one was recorded. */
  loop?: LoopRevision,
  /** Claims a delivery the change creates, when it is due at once (see commitGroup). */
  claim?: CommitClaim,
): Promise<{ group: GroupState | null; delivery: Delivery | null; claimed: boolean } | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { raw, group } = attempt === 0 && loaded ? loaded : await store.loadGroup(id);
    const next = change(group);
    if (next === undefined) return undefined;
    if (!group && next.group === null && !next.delivery) return undefined;
    const outcome = await store.commitGroup(id, raw, next.group, next.delivery ?? null, now, loop, claim);
    if (outcome === "stale") return undefined;
    if (outcome === "ok" || outcome === "claimed")
      return { group: next.group, delivery: next.delivery ?? null, claimed: outcome === "claimed" };
  }
  throw new RetryableError(`group ${id} changed too often to update; will retry`);
}
