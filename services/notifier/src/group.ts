import { type AlertState, isMuted } from "./alert.js";

/** How one route groups and repeats (Alertmanager's group_wait, group_interval, repeat_interval). */
export interface GroupPolicy {
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  /** Reminders per loop at most; undefined = unlimited. */
  repeatLimit?: number;
  stormThreshold: number;
  sendResolved: boolean;
}

/** Loops of one route and channel that share their group labels, and what was sent about them. */
export interface GroupState {
  /** Hash of route, channel and group labels: the Redis key part. */
  id: string;
  /** Alertmanager-style group key: `{}/<route>:{alertname="repo.dirty"}`. */
  key: string;
  channel: string;
  route: string;
  /** An escalation copy (the route's `escalateTo` channels). */
  escalation: boolean;
  labels: Record<string, string>;
  /** Distinguishes this life of the group from an earlier one with the same id (delivery ids stay unique). */
  epoch: string;
  createdAt: number;
  nextFlushAt: number;
  lastSentAt: number | null;
  /** Loop ids that were firing in the last message. */
  lastSent: string[];
  seq: number;
  alerts: Record<string, AlertState>;
  /** Trace context of the last loop event that changed the group: its delivery continues that trace. */
  trace?: Record<string, string>;
}

/** What the group's time-dependent filters say at flush time. */
export interface FlushEnv {
  silenced(labels: Record<string, string>): boolean;
  inhibited(labels: Record<string, string>): boolean;
  /** Quiet hours now in force for this group's route, if any. */
  quiet: { endsAt: number; except: readonly string[] } | null;
}

/** One message to send about a group. */
export interface Draft {
  seq: number;
  status: "firing" | "resolved";
  firing: AlertState[];
  resolved: AlertState[];
  /** Holds news that quiet hours held back. */
  catchUp: boolean;
  repeat: boolean;
  storm: boolean;
}

/** Adds or updates one alert; returns the new group, or null when the alert is not newer than what the group has. */
export function upsertAlert(group: GroupState, alert: AlertState, now: number, policy: GroupPolicy): GroupState | null {
  const prev = group.alerts[alert.loopId];
  if (prev && prev.rev >= alert.rev && prev.activeFrom === alert.activeFrom) return null;
  const alerts = { ...group.alerts, [alert.loopId]: alert };
  let nextFlushAt = group.nextFlushAt;
  const nothingSentYet = group.lastSentAt === null;
  const allResolved = Object.values(alerts).every((a) => a.status === "resolved");
  // A group that never spoke waits only groupWait; so does the resolution that ends a group,
  // so that "resolved" arrives promptly instead of one groupInterval later.
  if (nothingSentYet || (allResolved && alert.status === "resolved"))
    nextFlushAt = Math.min(nextFlushAt, now + policy.groupWait);
  return { ...group, alerts, nextFlushAt };
}

/** A new, empty group that flushes `groupWait` after it was created. */
export function newGroup(
  init: Omit<GroupState, "createdAt" | "nextFlushAt" | "lastSentAt" | "lastSent" | "seq" | "alerts">,
  now: number,
  policy: GroupPolicy,
): GroupState {
  return {
    ...init,
    createdAt: now,
    nextFlushAt: now + policy.groupWait,
    lastSentAt: null,
    lastSent: [],
    seq: 0,
    alerts: {},
  };
}

interface Sorted {
  firing: AlertState[];
  resolved: AlertState[];
  keep: Record<string, AlertState>;
  wake: number[];
}

/** Sorts each alert into firing-to-send, resolved-to-send, kept (held, muted, not yet active) or dropped. */
function sortAlerts(group: GroupState, now: number, policy: GroupPolicy, env: FlushEnv): Sorted {
  const out: Sorted = { firing: [], resolved: [], keep: {}, wake: [] };
  const holds = (a: AlertState) => env.quiet !== null && !env.quiet.except.includes(a.labels.severity ?? "");
  for (const a of Object.values(group.alerts)) {
    if (a.status === "resolved") {
      const wasNews = a.notified === "firing" || a.held;
      if (!wasNews || !policy.sendResolved) continue;
      if (holds(a)) out.keep[a.loopId] = { ...a, held: true };
      else out.resolved.push(a);
      continue;
    }
    out.keep[a.loopId] = a;
    if (a.activeFrom > now) out.wake.push(a.activeFrom);
    else if (isMuted(a, now)) {
      if (a.mutedUntil !== null) out.wake.push(a.mutedUntil);
    } else if (env.silenced(a.labels) || env.inhibited(a.labels)) {
      // waits for the silence or the inhibiting loop to end; the group's regular tick notices
    } else if (holds(a)) out.keep[a.loopId] = { ...a, held: true };
    else out.firing.push(a);
  }
  if (env.quiet && Object.values(out.keep).some((a) => a.held)) out.wake.push(env.quiet.endsAt);
  return out;
}

/**
 * Decides what a group sends now (Alertmanager semantics: news after groupWait/groupInterval,
 * the whole firing set again after repeatInterval) and returns the group as it is afterwards
 * (null once nothing is left in it).
 */
export function flushGroup(
  group: GroupState,
  now: number,
  policy: GroupPolicy,
  env: FlushEnv,
): { group: GroupState | null; draft: Draft | null } {
  const s = sortAlerts(group, now, policy, env);
  const last = new Set(group.lastSent);
  const news = s.firing.some((a) => !last.has(a.loopId)) || s.resolved.length > 0;
  let firing = s.firing;
  let repeat = false;
  if (!news && firing.length > 0 && group.lastSentAt !== null && now - group.lastSentAt >= policy.repeatInterval) {
    const limit = policy.repeatLimit;
    firing = limit === undefined ? firing : firing.filter((a) => a.reminders < limit);
    repeat = firing.length > 0;
  }
  const send = news || repeat;
  const keep = { ...s.keep };
  let draft: Draft | null = null;
  let next: GroupState = group;
  if (send) {
    const seq = group.seq + 1;
    const sent = [...firing, ...s.resolved];
    draft = {
      seq,
      status: firing.length > 0 ? "firing" : "resolved",
      firing,
      resolved: s.resolved,
      catchUp: sent.some((a) => a.held),
      repeat,
      storm: sent.length > policy.stormThreshold,
    };
    for (const a of firing) {
      keep[a.loopId] = {
        ...a,
        notified: "firing",
        held: false,
        reminders: a.reminders + (repeat ? 1 : 0),
        firstNotifiedAt: a.firstNotifiedAt ?? now,
      };
    }
    next = { ...group, seq, lastSentAt: now, lastSent: s.firing.map((a) => a.loopId) };
  }
  if (Object.keys(keep).length === 0) return { group: null, draft };
  const wake = Math.min(now + policy.groupInterval, ...s.wake.filter((t) => t > now));
  return { group: { ...next, alerts: keep, nextFlushAt: wake }, draft };
}
