import { z } from "zod";
import { defineEvent } from "../event.js";
import { IsoTime, Severity } from "./common.js";

/**
 * `open` needs attention; `acknowledged` someone is on it (no repeats, closes itself on
 * recovery); `snoozed` until `snoozedUntil`; `suppressed` a parent service is down (visible,
 * not notified); `maintenance` a maintenance window covers it (visible, not notified, notified when
 * the window ends if still open); `closed` the condition cleared, or someone closed it by hand.
 */
export const LoopStatus = z.enum(["open", "acknowledged", "snoozed", "suppressed", "maintenance", "closed"]);
export type LoopStatus = z.infer<typeof LoopStatus>;

export const LoopEntity = z.object({
  type: z.enum(["repo", "service", "site"]),
  /** Absolute repository path, for repo loops. */
  repo: z.string().optional(),
  /** Service name, for service loops. */
  service: z.string().optional(),
  /** Probe site name, for site loops (`site.unreachable`). */
  site: z.string().optional(),
});
export type LoopEntity = z.infer<typeof LoopEntity>;

export const LoopTransition = z.object({
  at: IsoTime,
  from: LoopStatus.nullable(),
  to: LoopStatus,
  /** Who or what did it: "rule:repo.dirty", "user:alice", "tick", "model:rules". */
  by: z.string(),
  note: z.string().optional(),
});

export const Triage = z.object({
  adapter: z.string(),
  model: z.string(),
  severity: Severity,
  summary: z.string(),
  nextAction: z.string(),
  at: IsoTime,
});
export type Triage = z.infer<typeof Triage>;

/** An open loop: something unfinished or broken that needs a human. */
export const Loop = z.object({
  id: z.string().min(1),
  kind: z.string().min(1),
  entity: LoopEntity,
  severity: Severity,
  status: LoopStatus,
  summary: z.string(),
  openedAt: IsoTime,
  updatedAt: IsoTime,
  closedAt: IsoTime.nullable().default(null),
  snoozedUntil: IsoTime.nullable().default(null),
  /** Parent services whose open `service.down` suppresses this loop (status `suppressed`). */
  suppressedBy: z.array(z.string()).default([]),
  /** Monotonic per loop: every transition or update increments it. */
  rev: z.number().int().nonnegative(),
  evidence: z.record(z.string(), z.unknown()).default({}),
  /** The model's triage; null while pending (asked on open, retried while no adapter answers). */
  triage: Triage.nullable().default(null),
  history: z.array(LoopTransition).default([]),
});
export type Loop = z.infer<typeof Loop>;

/** Data of every loop event: the whole loop and why it changed. */
export const LoopEvent = z.object({ loop: Loop, reason: z.string() });
export type LoopEvent = z.infer<typeof LoopEvent>;

/** Produced by: loop-detector. Consumed by: notifier, console. */
export const loopOpened = defineEvent({
  type: "mirror.loop.opened.v1",
  prefix: "mirror.loop.opened",
  schema: LoopEvent,
});
export const loopUpdated = defineEvent({
  type: "mirror.loop.updated.v1",
  prefix: "mirror.loop.updated",
  schema: LoopEvent,
});
export const loopClosed = defineEvent({
  type: "mirror.loop.closed.v1",
  prefix: "mirror.loop.closed",
  schema: LoopEvent,
});
export const LOOP_FILTER = "mirror.loop.>";
/** Every loop event, for consumers of "mirror.loop.>": pass `types: LOOP_EVENT_TYPES` to bus.consume. */
export const anyLoopEvent = defineEvent({ type: "mirror.loop.opened.v1", prefix: "mirror.loop", schema: LoopEvent });
export const LOOP_EVENT_TYPES = [loopOpened.type, loopUpdated.type, loopClosed.type];
