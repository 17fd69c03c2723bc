import { z } from "zod";
import { defineEndpoint } from "./event.js";
import { Severity } from "./events/common.js";
import { Loop } from "./events/loop.js";
import { ServiceStatus } from "./events/service.js";

/** NATS Services API name and queue group every model adapter registers under. */
export const MODEL_SERVICE = "mirror-model";
export const MODEL_QUEUE = "mirror-model";

/** Every reply names who answered. */
const Answered = z.object({ adapter: z.string().min(1), model: z.string().min(1) });

export const TriageRequest = z.object({ loop: Loop });
export const TriageReply = Answered.extend({
  severity: Severity,
  summary: z.string().min(1).max(2_000),
  nextAction: z.string().min(1).max(2_000),
});
export type TriageRequest = z.infer<typeof TriageRequest>;
export type TriageReply = z.infer<typeof TriageReply>;

export const DigestRequest = z.object({ loops: z.array(Loop).max(5_000), period: z.string().optional() });
export const DigestReply = Answered.extend({ title: z.string().min(1), text: z.string().min(1) });
export type DigestRequest = z.infer<typeof DigestRequest>;
export type DigestReply = z.infer<typeof DigestReply>;

export const AskRequest = z.object({
  question: z.string().min(1).max(4_000),
  loops: z.array(Loop).max(5_000).default([]),
  services: z.array(ServiceStatus).max(5_000).default([]),
});
export const AskReply = Answered.extend({ answer: z.string().min(1) });
export type AskRequest = z.infer<typeof AskRequest>;
export type AskReply = z.infer<typeof AskReply>;

export const modelTriage = defineEndpoint({ name: "triage", subject: "mirror.model.triage", request: TriageRequest, reply: TriageReply });
export const modelDigest = defineEndpoint({ name: "digest", subject: "mirror.model.digest", request: DigestRequest, reply: DigestReply });
export const modelAsk = defineEndpoint({ name: "ask", subject: "mirror.model.ask", request: AskRequest, reply: AskReply });
