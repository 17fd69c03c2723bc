import type { ServiceStatus } from "@mirror/contracts";
import type { FailedCondition } from "./conditions.js";

export type State = ServiceStatus["state"];
export type Kind = ServiceStatus["kind"];

/** One observation of an entity, whatever produced it (probe, heartbeat deadline, mesh round). */
export interface Observed {
  state: Exclude<State, "unknown"> | "unknown";
  latencyMs: number | null;
  reason: string | null;
  failedConditions: FailedCondition[];
  heartbeat?: ServiceStatus["heartbeat"];
  cert?: ServiceStatus["cert"];
  domain?: ServiceStatus["domain"];
  details?: Record<string, unknown>;
}

/** What the tracker remembers about one entity between observations. */
export interface Tracked {
  name: string;
  kind: Kind;
  dependsOn: string[];
  failureThreshold: number;
  successThreshold: number;
  state: State;
  since: number;
  seq: number;
  /** Consecutive observations that disagree with `state`, and which way. */
  streak: { bad: boolean; count: number };
  last: Observed | null;
  /** The latest bad observation: it explains a bad state while a recovery is pending. */
  lastBad: Observed | null;
  observedAt: number;
  lastPublishedAt: number;
  /** What a subscriber would see change: state plus the failing conditions. */
  signature: string;
  /** The state and since remembered from before a restart: `since` carries over if the state is the same. */
  restored?: { state: State; since: number };
}

export function newTracked(
  spec: { name: string; kind: Kind; dependsOn?: string[]; failureThreshold: number; successThreshold: number },
  now: number,
): Tracked {
  return {
    ...spec,
    dependsOn: spec.dependsOn ?? [],
    state: "unknown",
    since: now,
    seq: 0,
    streak: { bad: false, count: 0 },
    last: null,
    lastBad: null,
    observedAt: now,
    lastPublishedAt: 0,
    signature: "unknown",
  };
}

/**
 * Applies an observation with flap damping: an up entity turns bad only after
 * `failureThreshold` bad observations in a row, a bad one turns up after `successThreshold`
 * good ones. From unknown, and between down and degraded, the first observation decides.
 * Returns whether the status should be published now (changed, or the keep-alive is due).
 */
export function observe(t: Tracked, o: Observed, now: number, resyncEvery: number): boolean {
  t.last = o;
  t.observedAt = now;
  const bad = isBad(o.state);
  if (bad) t.lastBad = o;
  if (o.state === t.state) t.streak = { bad, count: 0 };
  else t.streak = t.streak.bad === bad && t.streak.count > 0 ? { bad, count: t.streak.count + 1 } : { bad, count: 1 };
  let next = t.state;
  if (t.state === "unknown" || o.state === "unknown") next = o.state;
  else if (o.state !== t.state) {
    if (bad && isBad(t.state)) next = o.state;
    else if (bad && t.streak.count >= t.failureThreshold) next = o.state;
    else if (!bad && t.streak.count >= t.successThreshold) next = o.state;
  }
  if (next !== t.state) {
    t.since = t.state === "unknown" && t.restored?.state === next ? Math.min(t.restored.since, now) : now;
    t.state = next;
    t.restored = undefined;
    t.streak = { bad, count: 0 };
  }
  const why = explain(t);
  const signature = `${t.state}|${why?.failedConditions.map((f) => f.condition).join("\n") || (why?.reason ?? "")}`;
  const changed = signature !== t.signature;
  t.signature = signature;
  return changed || now - t.lastPublishedAt >= resyncEvery;
}

/** The whole status of an entity, as published on mirror.service.status.<name>. */
export function toStatus(t: Tracked, now: number): ServiceStatus {
  // Time-based, so it keeps growing across restarts without stored state.
  t.seq = Math.max(t.seq + 1, now);
  t.lastPublishedAt = now;
  const o = t.last;
  const why = explain(t);
  const pending =
    t.streak.count > 0 && t.state !== "unknown" ? { pendingState: o?.state, pendingCount: t.streak.count } : {};
  return {
    name: t.name,
    kind: t.kind,
    state: t.state,
    observedAt: new Date(t.observedAt).toISOString(),
    seq: t.seq,
    since: new Date(t.since).toISOString(),
    latencyMs: o?.latencyMs == null ? null : Math.round(o.latencyMs * 1000) / 1000,
    reason: why
      ? (why.reason ?? (why.failedConditions.map((f) => `${f.condition} (got ${f.actual})`).join("; ") || null))
      : null,
    failedConditions: why?.failedConditions ?? [],
    heartbeat: o?.heartbeat ?? null,
    cert: o?.cert ?? null,
    ...(o?.domain ? { domain: o.domain } : {}),
    dependsOn: t.dependsOn,
    details: { ...o?.details, ...pending },
  };
}

function isBad(s: State): boolean {
  return s === "down" || s === "degraded";
}

/** The observation that explains the current state: none when up. */
function explain(t: Tracked): Observed | null {
  if (t.state === "up") return null;
  if (isBad(t.state)) return t.lastBad;
  return t.last;
}
