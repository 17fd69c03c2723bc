import { z } from "zod";
import { defineEndpoint, defineEvent } from "../event.js";
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

export const notifySent = defineEvent({
  type: "mirror.notify.sent.v1",
  prefix: "mirror.notify.sent",
  schema: NotifyOutcome,
});
export const notifyFailed = defineEvent({
  type: "mirror.notify.failed.v1",
  prefix: "mirror.notify.failed",
  schema: NotifyOutcome,
});
/** Every delivery outcome, for consumers of "mirror.notify.>" (the console's live Notifications page): pass `types: NOTIFY_EVENT_TYPES` to bus.consume. */
export const anyNotifyOutcome = defineEvent({
  type: "mirror.notify.sent.v1",
  prefix: "mirror.notify",
  schema: NotifyOutcome,
});
export const NOTIFY_EVENT_TYPES = [notifySent.type, notifyFailed.type];

/** `label=value`, `label!=value`, `label=~regex`, `label!~regex` (Alertmanager matchers). */
const MatcherText = z
  .string()
  .regex(/^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)/, "use label=value, label!=value, label=~regex or label!~regex");

/** A silence: loops whose labels match every matcher send no firing message until `until`. */
export const Silence = z.object({
  id: z.string().min(1),
  matchers: z.array(MatcherText).min(1).max(20),
  until: IsoTime,
  comment: z.string().max(500).optional(),
  createdBy: z.string(),
  createdAt: IsoTime,
});
export type Silence = z.infer<typeof Silence>;

export const SilenceAddRequest = z.object({
  matchers: z.array(MatcherText).min(1).max(20),
  /** An end time, or a duration from now in `for` ("2h"); one of them. */
  until: IsoTime.optional(),
  for: z.string().optional(),
  comment: z.string().max(500).optional(),
  by: z.string().min(1).max(200).default("operator"),
});
export const SilenceReply = z.object({ silence: Silence });
export const SilenceListRequest = z.object({ all: z.boolean().default(false) });
export const SilenceListReply = z.object({ silences: z.array(Silence) });
export const SilenceExpireRequest = z.object({
  id: z.string().min(1),
  by: z.string().min(1).max(200).default("operator"),
});

/** Commands owned by the notifier (Services API service "notifier"). */
export const silenceAdd = defineEndpoint({
  name: "silence-add",
  subject: "mirror.notifier.silence.add",
  request: SilenceAddRequest,
  reply: SilenceReply,
});
export const silenceList = defineEndpoint({
  name: "silence-list",
  subject: "mirror.notifier.silence.list",
  request: SilenceListRequest,
  reply: SilenceListReply,
});
export const silenceExpire = defineEndpoint({
  name: "silence-expire",
  subject: "mirror.notifier.silence.expire",
  request: SilenceExpireRequest,
  reply: SilenceReply,
});
