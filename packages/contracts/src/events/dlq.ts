import { z } from "zod";
import { defineEvent } from "../event.js";
import { IsoTime } from "./common.js";

export const DlqReason = z.enum([
  "invalid_json",
  "invalid_schema",
  "invalid_envelope",
  "signature",
  "poison",
  "max_deliver",
]);
export type DlqReason = z.infer<typeof DlqReason>;

/** A message a service refused, with the reason. Produced by: every consumer (bus kit). */
export const DeadLetter = z.object({
  service: z.string(),
  subject: z.string(),
  reason: DlqReason,
  error: z.string(),
  /** The original payload, as UTF-8 text where it decodes, else base64 (truncated to 64 KiB). */
  payload: z.string(),
  payloadEncoding: z.enum(["utf8", "base64"]),
  headers: z.record(z.string(), z.string()).default({}),
  streamSeq: z.number().int().nonnegative().nullable(),
  deliveries: z.number().int().nonnegative().nullable(),
  at: IsoTime,
});
export type DeadLetter = z.infer<typeof DeadLetter>;

export const deadLetter = defineEvent({ type: "mirror.dlq.v1", prefix: "mirror.dlq", schema: DeadLetter });
