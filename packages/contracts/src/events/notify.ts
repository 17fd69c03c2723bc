import { z } from "zod";
import { defineEvent } from "../event.js";
import { IsoTime } from "./common.js";

/** A delivery outcome. Produced by: notifier. */
export const NotifyOutcome = z.object({
  channel: z.string(),
  groupKey: z.string(),
  status: z.enum(["firing", "resolved"]),
  loopIds: z.array(z.string()),
  deliveryId: z.string(),
  attempt: z.number().int().positive(),
  at: IsoTime,
  error: z.string().nullable().default(null),
});
export type NotifyOutcome = z.infer<typeof NotifyOutcome>;

export const notifySent = defineEvent({ type: "mirror.notify.sent.v1", prefix: "mirror.notify.sent", schema: NotifyOutcome });
export const notifyFailed = defineEvent({ type: "mirror.notify.failed.v1", prefix: "mirror.notify.failed", schema: NotifyOutcome });
