import { z } from "zod";
import { defineEndpoint } from "./event.js";
import { IsoTime } from "./events/common.js";

/** What a delivery carried: news of firing loops, their resolution, a reminder of still-firing ones, or the digest. */
export const DeliveryKind = z.enum(["firing", "resolved", "repeat", "digest"]);
export type DeliveryKind = z.infer<typeof DeliveryKind>;

/** How one attempt ended: `retried` failed and will be tried again, `failed` was given up. */
export const DeliveryOutcome = z.enum(["sent", "failed", "retried"]);
export type DeliveryOutcome = z.infer<typeof DeliveryOutcome>;

/** One loop a delivery was about. */
export const DeliveryAlert = z.object({
  loopId: z.string(),
  /** The loop kind (`alertname`), e.g. `repo.dirty`; `MirrorDigest` for a digest. */
  alertname: z.string(),
  /** The repo or service it is about, when the alert names one. */
  entity: z.string().nullable().default(null),
  /** Whether the message reported this loop firing or resolved (a firing message also lists the loops resolved since the last one). */
  status: z.enum(["firing", "resolved"]).default("firing"),
});
export type DeliveryAlert = z.infer<typeof DeliveryAlert>;

/** One attempt to deliver one message to one channel, as the notifier's delivery log keeps it. */
export const DeliveryLogEntry = z.object({
  deliveryId: z.string(),
  channel: z.string(),
  kind: DeliveryKind,
  outcome: DeliveryOutcome,
  /** Which attempt this was (1 = the first). */
  attempts: z.number().int().positive(),
  at: IsoTime,
  groupKey: z.string(),
  /** The loops it was about (at most 20 listed; `alertCount` says how many there were). */
  alerts: z.array(DeliveryAlert),
  alertCount: z.number().int().nonnegative(),
  /** Why the attempt failed, with URLs cut to their origin and credentials masked; null when sent. */
  error: z.string().nullable().default(null),
  /** A retried attempt: when the next one is due. */
  nextAttemptAt: IsoTime.nullable().default(null),
});
export type DeliveryLogEntry = z.infer<typeof DeliveryLogEntry>;

export const DeliveriesRequest = z.object({
  /** Only this channel's log; all channels when absent. */
  channel: z.string().min(1).max(200).optional(),
  /** Entries per channel at most, newest first. */
  limit: z.number().int().min(1).max(500).default(50),
});
export type DeliveriesRequest = z.input<typeof DeliveriesRequest>;

/** One channel's recent attempts, newest first, and its counts over what is kept. */
export const ChannelDeliveries = z.object({
  channel: z.string(),
  /** The channel type (`webhook`, `ntfy`, ...); null for a channel no longer configured. */
  type: z.string().nullable(),
  configured: z.boolean(),
  deliveries: z.array(DeliveryLogEntry),
  counts: z.object({
    sent: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    retried: z.number().int().nonnegative(),
  }),
});
export type ChannelDeliveries = z.infer<typeof ChannelDeliveries>;

export const DeliveriesReply = z.object({
  channels: z.array(ChannelDeliveries),
  /** How many attempts per channel the notifier keeps at most. */
  kept: z.number().int().positive(),
});
export type DeliveriesReply = z.infer<typeof DeliveriesReply>;

/**
 * Owned by the notifier: its delivery log, per configured channel (and channels removed from the
 * config whose log is still kept), newest first. Called by the console's Notifications page.
 */
export const notifyDeliveries = defineEndpoint({
  name: "deliveries-list",
  subject: "mirror.notifier.deliveries",
  request: DeliveriesRequest,
  reply: DeliveriesReply,
});
