import { z } from "zod";
import { duration } from "../duration.js";
import { Port } from "./port.js";

/** Limits every networked adapter shares: time, tokens, parallel calls, how much repo text goes into a prompt. */
const AdapterLimits = {
  /** Deadline of one call to the model server, including a streamed body. */
  timeout: duration("30s"),
  /** Calls in flight to the model server; further requests wait for a slot. */
  maxConcurrency: z.number().int().min(1).max(64).default(2),
  /** Cap on the tokens the model may produce per reply. */
  maxTokens: z.number().int().min(16).max(32_768).default(800),
  /** Cap on the characters of untrusted repository/service text in one prompt. */
  maxInputChars: z.number().int().min(500).max(200_000).default(12_000),
  /** How long a request may wait for a free slot before it is refused as busy. */
  queueTimeout: duration("30s"),
};

/**
 * `model.openai`: any OpenAI-compatible chat-completions server (Ollama, llama.cpp, vLLM,
 * LM Studio, OpenAI, OpenRouter). Read by: model-openai.
 */
export const OpenAIModelConfig = z.strictObject({
  port: Port.default(9106),
  /** Base URL up to and including the version, e.g. http://127.0.0.1:11434/v1 (Ollama). */
  baseUrl: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:11434/v1"),
  model: z.string().min(1),
  /** Sent as `Authorization: Bearer`; use ${ENV}. Never logged or replied. */
  apiKey: z.string().optional(),
  /** Ask for `response_format: json_schema`; turn off for servers that reject it. */
  structuredOutput: z.boolean().default(true),
  ...AdapterLimits,
});
export type OpenAIModelConfig = z.infer<typeof OpenAIModelConfig>;

/** `model.anthropic`: the Anthropic Messages API. Read by: model-anthropic. */
export const AnthropicModelConfig = z.strictObject({
  port: Port.default(9107),
  baseUrl: z.url({ protocol: /^https?$/ }).default("https://api.anthropic.com"),
  model: z.string().min(1),
  /** Sent as `x-api-key`; use ${ENV}. Never logged or replied. */
  apiKey: z.string().min(1),
  /** The `anthropic-version` header. */
  version: z.string().default("2023-06-01"),
  ...AdapterLimits,
});
export type AnthropicModelConfig = z.infer<typeof AnthropicModelConfig>;

/** `model`: the model adapters. model-rules listens on `port`; the others on their own section's port. */
export const ModelConfig = z
  .strictObject({
    port: Port.default(9105),
    /** Informational: the adapter the owner means to run (`pnpm start model-<adapter>`). */
    adapter: z.string().default("rules"),
    /** Paths shown in rules summaries are shortened with `~` for this home folder (default: $HOME). */
    home: z.string().optional(),
    openai: OpenAIModelConfig.optional(),
    anthropic: AnthropicModelConfig.optional(),
  })
  .prefault({});
export type ModelConfig = z.infer<typeof ModelConfig>;
