import type { Loop, LoopStatus } from "@mirror/contracts";

/** Returns the loop after one status transition, with the rev bumped and the history entry added. */
export function transition(
  loop: Loop,
  to: LoopStatus,
  at: number,
  by: string,
  opts: { note?: string; historyLimit: number; patch?: Partial<Loop> },
): Loop {
  const iso = new Date(at).toISOString();
  const entry = { at: iso, from: loop.status, to, by, ...(opts.note ? { note: opts.note } : {}) };
  const history = [...loop.history, entry].slice(-opts.historyLimit);
  return {
    ...loop,
    ...opts.patch,
    status: to,
    updatedAt: iso,
    rev: loop.rev + 1,
    snoozedUntil: to === "snoozed" ? (opts.patch?.snoozedUntil ?? loop.snoozedUntil) : null,
    closedAt: to === "closed" ? iso : null,
    history,
  };
}
