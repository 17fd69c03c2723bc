import { entityKey, type Loop, type LoopStatus, loopId } from "@mirror/contracts";
import type { Condition } from "./rules/rule.js";
import { type EntityState, isActive, type LoopChange, type Mutation, type StoredLoop } from "./state.js";
import { isLive, liveStatus } from "./live-status.js";
import { transition } from "./transition.js";

export interface ReconcileOptions {
  /** Parents with an open service.down: new and open loops of this entity are suppressed. */
  suppressedBy: string[];
  historyLimit: number;
  /** Maintenance windows on now that cover a loop of `kind` of this entity, and when each ends (ms). */
  maintenance?: (kind: string) => { name: string; end: number }[];
}

/**
 * Level-triggered reconciliation of one entity: the conditions that hold now against the
 * loops stored for it. Pure: returns the new state and the loop events to publish.
 */
export function reconcile(state: EntityState, conditions: Condition[], now: number, opts: ReconcileOptions): Mutation {
  const next: EntityState = { ...state, loops: { ...state.loops }, firstSeen: {}, pendingDue: null };
  const changes: LoopChange[] = [];
  const byKind = new Map(conditions.map((c) => [c.kind as string, c]));
  const kinds = new Set([...byKind.keys(), ...Object.keys(state.loops)]);
  for (const kind of kinds) {
    const c = byKind.get(kind);
    const stored = state.loops[kind];
    if (!c) {
      if (stored) next.loops[kind] = cleared(stored, now, opts, changes);
      continue;
    }
    const since = c.since ?? state.firstSeen[kind] ?? now;
    if (c.since === null) next.firstSeen[kind] = since;
    const due = since + c.after;
    if (due > now && !(stored && isActive(stored.loop.status))) {
      next.pendingDue = next.pendingDue === null ? due : Math.min(next.pendingDue, due);
      continue;
    }
    const windows = opts.maintenance?.(kind) ?? [];
    // A window's end is a time to look again: a loop still open then is notified.
    for (const w of windows) next.pendingDue = next.pendingDue === null ? w.end : Math.min(next.pendingDue, w.end);
    const o = windows.length
      ? { ...opts, suppressedBy: [...opts.suppressedBy, ...windows.map((w) => `maintenance:${w.name}`)] }
      : opts;
    next.loops[kind] = holding(state, stored, c, since, now, o, changes);
  }
  return { state: next, changes };
}

/**
 * For an input that cannot say whether its conditions hold (an unreadable repo, an unknown
 * service state): nothing opens or closes, but a snooze that ended still ends.
 */
export function endSnoozes(state: EntityState, now: number, opts: ReconcileOptions): Mutation {
  const changes: LoopChange[] = [];
  const loops = { ...state.loops };
  for (const [kind, s] of Object.entries(state.loops)) {
    const l = s.loop;
    if (l.status !== "snoozed" || !l.snoozedUntil || Date.parse(l.snoozedUntil) > now) continue;
    const to: LoopStatus = liveStatus(l.suppressedBy);
    const loop = transition(l, to, now, "tick", { note: "snooze ended", historyLimit: opts.historyLimit });
    changes.push({ event: "updated", loop, reason: "snooze ended" });
    loops[kind] = { loop, muted: false };
  }
  return { state: { ...state, loops }, changes };
}

/** The condition no longer holds: close an active loop (always published), unmute a closed one. */
function cleared(stored: StoredLoop, now: number, opts: ReconcileOptions, changes: LoopChange[]): StoredLoop {
  if (!isActive(stored.loop.status)) return stored.muted ? { ...stored, muted: false } : stored;
  const loop = transition(stored.loop, "closed", now, `rule:${stored.loop.kind}`, {
    note: "condition cleared",
    historyLimit: opts.historyLimit,
  });
  changes.push({ event: "closed", loop, reason: "resolved" });
  return { loop, muted: false };
}

/** The condition holds and is due: open, re-open, end a snooze, (un)suppress, or refresh. */
function holding(
  state: EntityState,
  stored: StoredLoop | undefined,
  c: Condition,
  since: number,
  now: number,
  opts: ReconcileOptions,
  changes: LoopChange[],
): StoredLoop {
  const fresh = { summary: c.summary, evidence: { ...c.evidence, since: new Date(since).toISOString() } };
  const wanted: LoopStatus = liveStatus(opts.suppressedBy);
  const by = `rule:${c.kind}`;
  const t = { historyLimit: opts.historyLimit };
  if (!stored) {
    const loop = newLoop(state, c, fresh, wanted, now, opts);
    changes.push({ event: "opened", loop, reason: wanted === "open" ? "opened" : `opened ${wanted}` });
    return { loop, muted: false };
  }
  const cur = { ...stored.loop, ...fresh };
  if (cur.status === "closed") {
    if (stored.muted) return { loop: stored.loop, muted: true };
    const patch = {
      openedAt: new Date(now).toISOString(),
      severity: c.severity,
      triage: null,
      suppressedBy: opts.suppressedBy,
    };
    const loop = transition(cur, wanted, now, by, { ...t, note: "condition is back", patch });
    changes.push({ event: "opened", loop, reason: "reopened" });
    return { loop, muted: false };
  }
  const loop = adjust(cur, stored.loop, c, wanted, now, opts, changes);
  return { loop, muted: false };
}

/** An active loop whose condition still holds: snooze end, suppression, severity; otherwise a silent refresh. */
function adjust(
  cur: Loop,
  before: Loop,
  c: Condition,
  wanted: LoopStatus,
  now: number,
  opts: ReconcileOptions,
  changes: LoopChange[],
): Loop {
  const t = { historyLimit: opts.historyLimit, patch: { suppressedBy: opts.suppressedBy } };
  if (cur.status === "snoozed" && cur.snoozedUntil && Date.parse(cur.snoozedUntil) <= now) {
    const loop = transition(cur, wanted, now, "tick", { ...t, note: "snooze ended and the condition still holds" });
    changes.push({ event: "updated", loop, reason: "snooze ended" });
    return loop;
  }
  if (isLive(cur.status) && cur.status !== wanted) {
    const windows = opts.suppressedBy.filter((b) => b.startsWith("maintenance:")).map((b) => b.slice(12));
    const note =
      wanted === "maintenance"
        ? `maintenance: ${windows.join(", ")}`
        : wanted === "suppressed"
          ? cur.status === "maintenance"
            ? `maintenance ended; parent down: ${opts.suppressedBy.join(", ")}`
            : `parent down: ${opts.suppressedBy.join(", ")}`
          : cur.status === "maintenance"
            ? "maintenance ended"
            : "parent recovered";
    const loop = transition(cur, wanted, now, actor(opts, c), { ...t, note });
    changes.push({ event: "updated", loop, reason: wanted === "open" ? "unsuppressed" : "suppressed" });
    return loop;
  }
  if (before.severity !== c.severity) {
    const loop = { ...cur, severity: c.severity, rev: cur.rev + 1, updatedAt: new Date(now).toISOString() };
    changes.push({ event: "updated", loop, reason: "severity changed" });
    return loop;
  }
  return cur;
}

const actor = (opts: ReconcileOptions, c: Condition) => {
  if (!opts.suppressedBy.length) return `rule:${c.kind}`;
  return opts.suppressedBy.every((b) => b.startsWith("maintenance:"))
    ? opts.suppressedBy.join(",")
    : `dependency:${opts.suppressedBy.join(",")}`;
};

function newLoop(
  state: EntityState,
  c: Condition,
  fresh: Pick<Loop, "summary" | "evidence">,
  status: LoopStatus,
  now: number,
  opts: ReconcileOptions,
): Loop {
  const iso = new Date(now).toISOString();
  return {
    id: loopId(c.kind, entityKey(state.entity)),
    kind: c.kind,
    entity: state.entity,
    severity: c.severity,
    status,
    ...fresh,
    openedAt: iso,
    updatedAt: iso,
    closedAt: null,
    snoozedUntil: null,
    suppressedBy: opts.suppressedBy,
    rev: 1,
    triage: null,
    history: [{ at: iso, from: null, to: status, by: `rule:${c.kind}` }],
  };
}
