import { z } from "zod";
import { ERRORS } from "./errors.js";
import { defineEndpoint } from "./event.js";
import { Severity } from "./events/common.js";
import { Loop } from "./events/loop.js";
import { ServiceStatus } from "./events/service.js";

/** NATS Services API name and queue group every model adapter registers under. */
export const MODEL_SERVICE = "mirror-model";
export const MODEL_QUEUE = "mirror-model";

/** Every reply names who answered. */
const Answered = z.object({ adapter: z.string().min(1), model: z.string().min(1) });

/**
 * How long the caller will wait for this reply. An adapter gives up (with a MODEL_TIMEOUT error
 * reply) before that, instead of working on an answer nobody reads. Optional: the adapter's own
 * `timeout` applies either way.
 */
const Budget = { timeoutMs: z.number().int().positive().max(600_000).optional() };

/**
 * Why an adapter could not answer. The error reply (Services API error header, status below) carries
 * `[CODE] message`; the caller keeps its loop's triage pending and retries later.
 */
export const MODEL_ERRORS = {
  /** All model slots were taken for longer than the queue allows. */
  MODEL_BUSY: ERRORS.MODEL_BUSY.status,
  /** The model server could not be reached (refused, DNS, reset). */
  MODEL_UNAVAILABLE: ERRORS.MODEL_UNAVAILABLE.status,
  /** The model server did not finish in time (slow, or streaming forever). */
  MODEL_TIMEOUT: ERRORS.MODEL_TIMEOUT.status,
  /** The model server answered with an HTTP error or a body that is not its wire format. */
  MODEL_HTTP_ERROR: ERRORS.MODEL_HTTP_ERROR.status,
  /** The model's output was not the JSON asked for, even after one retry. */
  MODEL_BAD_OUTPUT: ERRORS.MODEL_BAD_OUTPUT.status,
} as const;
export type ModelErrorCode = keyof typeof MODEL_ERRORS;

/**
 * Request/reply endpoints of the Services API service "mirror-model" (queue group "mirror-model").
 * Produced by: any model adapter (model-rules, model-openai, model-anthropic).
 * Consumed by: loop-detector (triage), notifier (digest), CLI `mirror ask` (ask).
 */
export const TriageRequest = z.object({ loop: Loop, ...Budget });
export const TriageReply = Answered.extend({
  severity: Severity,
  summary: z.string().min(1).max(2_000),
  nextAction: z.string().min(1).max(2_000),
});
export type TriageRequest = z.infer<typeof TriageRequest>;
export type TriageReply = z.infer<typeof TriageReply>;

export const DigestRequest = z.object({
  loops: z.array(Loop).max(5_000),
  period: z.string().max(200).optional(),
  ...Budget,
});
export const DigestReply = Answered.extend({ title: z.string().min(1), text: z.string().min(1) });
export type DigestRequest = z.infer<typeof DigestRequest>;
export type DigestReply = z.infer<typeof DigestReply>;

export const AskRequest = z.object({
  question: z
    .string()
    .trim()
    .min(1, 'the question is empty: ask something, e.g. "what is broken?"')
    .max(4_000, "the question is longer than 4000 characters"),
  loops: z.array(Loop).max(5_000).default([]),
  services: z.array(ServiceStatus).max(5_000).default([]),
  ...Budget,
});
export const AskReply = Answered.extend({ answer: z.string().min(1) });
export type AskRequest = z.infer<typeof AskRequest>;
export type AskReply = z.infer<typeof AskReply>;

export const modelTriage = defineEndpoint({
  name: "triage",
  subject: "mirror.model.triage",
  request: TriageRequest,
  reply: TriageReply,
});
export const modelDigest = defineEndpoint({
  name: "digest",
  subject: "mirror.model.digest",
  request: DigestRequest,
  reply: DigestReply,
});
export const modelAsk = defineEndpoint({
  name: "ask",
  subject: "mirror.model.ask",
  request: AskRequest,
  reply: AskReply,
});
