import type { Loop, LoopStatus } from "@mirror/contracts";
import { conflict, notFound } from "./errors.js";
import type { EntityState, LoopChange, Mutation, StoredLoop } from "./state.js";
import { liveStatus } from "./live-status.js";
import { transition } from "./transition.js";

/** What the owner can do to a loop. */
export type Command =
  | { type: "ack" }
  | { type: "unack" }
  | { type: "reopen" }
  | { type: "close" }
  | { type: "snooze"; until: number };

export interface CommandInput {
  loopId: string;
  command: Command;
  /** Who did it, recorded in the history as `user:<by>`. */
  by: string;
  note?: string;
  now: number;
  historyLimit: number;
}

/**
 * Applies an owner's command to the loop with `loopId` in `state`. Pure. Repeating a command
 * changes nothing (no event); a command that makes no sense in the loop's status is a conflict.
 */
export function applyCommand(state: EntityState, input: CommandInput): Mutation & { loop: Loop } {
  const entry = Object.entries(state.loops).find(([, s]) => s.loop.id === input.loopId);
  if (!entry) throw notFound(input.loopId);
  const [kind, stored] = entry;
  const result = decide(stored, input);
  if (!result) return { state, changes: [], loop: stored.loop };
  const { next, change } = result;
  return { state: { ...state, loops: { ...state.loops, [kind]: next } }, changes: [change], loop: next.loop };
}

function decide(stored: StoredLoop, input: CommandInput): { next: StoredLoop; change: LoopChange } | null {
  const { loop } = stored;
  const { command } = input;
  const by = `user:${input.by}`;
  const t = (to: LoopStatus, patch?: Partial<Loop>) =>
    transition(loop, to, input.now, by, { note: input.note, historyLimit: input.historyLimit, patch });
  const live: LoopStatus = liveStatus(loop.suppressedBy);
  switch (command.type) {
    case "ack":
      if (loop.status === "acknowledged") return null;
      if (loop.status === "closed") throw conflict(`loop ${loop.id} is closed; only an open loop can be acknowledged`);
      return changed(t("acknowledged"), "updated", "acknowledged");
    case "snooze": {
      if (loop.status === "closed") throw conflict(`loop ${loop.id} is closed; only an open loop can be snoozed`);
      const until = new Date(command.until).toISOString();
      if (loop.status === "snoozed" && loop.snoozedUntil === until) return null;
      return changed(t("snoozed", { snoozedUntil: until }), "updated", `snoozed until ${until}`);
    }
    case "close": {
      if (loop.status === "closed") return null;
      // Closed by hand while the condition holds: stays closed until the condition clears and comes back.
      return changed(t("closed"), "closed", "closed by hand", true);
    }
    case "unack":
    case "reopen":
      return reopen(stored, input, live, t);
  }
}

function reopen(
  stored: StoredLoop,
  input: CommandInput,
  live: LoopStatus,
  t: (to: LoopStatus, patch?: Partial<Loop>) => Loop,
) {
  const { loop } = stored;
  if (loop.status === live || loop.status === "open") return null;
  if (input.command.type === "unack" && loop.status !== "acknowledged")
    throw conflict(`loop ${loop.id} is ${loop.status}, not acknowledged`);
  if (loop.status === "closed") {
    if (!stored.muted)
      throw conflict(
        `loop ${loop.id} is closed because its condition cleared; it opens again by itself if the condition comes back`,
      );
    return changed(
      t(live, { openedAt: new Date(input.now).toISOString(), triage: null }),
      "opened",
      "reopened by hand",
    );
  }
  return changed(t(live), "updated", input.command.type === "unack" ? "unacknowledged" : "reopened");
}

function changed(
  loop: Loop,
  event: LoopChange["event"],
  reason: string,
  muted = false,
): { next: StoredLoop; change: LoopChange } {
  return { next: { loop, muted }, change: { event, loop, reason } };
}
