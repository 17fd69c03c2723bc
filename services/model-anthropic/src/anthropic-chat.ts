import type { AnthropicModelConfig } from "@mirror/contracts";
import {
  type ChatClient,
  type ChatRequest,
  type ChatResult,
  ModelError,
  postJson,
  safeOrigin,
  upstreamMessage,
} from "@mirror/model-kit";
import { z } from "zod";

/** The parts of a Messages API reply we read; new block types and fields are ignored. */
const Message = z.object({
  type: z.literal("message"),
  content: z.array(
    z.looseObject({
      type: z.string(),
      text: z.string().optional(),
      name: z.string().optional(),
      input: z.unknown().optional(),
    }),
  ),
  stop_reason: z.string().nullable().optional(),
  usage: z.object({ input_tokens: z.number().optional(), output_tokens: z.number().optional() }).optional(),
});

const ErrorBody = z.object({ type: z.literal("error"), error: z.object({ type: z.string(), message: z.string() }) });

/**
 * The Anthropic Messages API: POST {baseUrl}/v1/messages, non-streaming. Structured output by
 * forcing one tool whose input schema is the reply's schema; a text reply is parsed as a fallback.
 */
export class AnthropicChat implements ChatClient {
  readonly adapter = "anthropic";
  readonly model: string;

  constructor(private readonly cfg: AnthropicModelConfig) {
    this.model = cfg.model;
  }

  async chat(req: ChatRequest): Promise<ChatResult> {
    const res = await postJson(this.url(), this.body(req), this.headers(), req.signal);
    if (res.status < 200 || res.status >= 300) throw this.httpError(res.status, res.json, res.text);
    const parsed = Message.safeParse(res.json);
    if (!parsed.success) {
      const what = res.json === undefined ? "a body that is not JSON" : "JSON that is not a message";
      throw new ModelError("MODEL_HTTP_ERROR", `${safeOrigin(this.cfg.baseUrl)} answered ${res.status} with ${what}`);
    }
    const blocks = parsed.data.content;
    const tool = blocks.find((b) => b.type === "tool_use" && b.name === req.output.name);
    return {
      text: blocks.map((b) => (b.type === "text" ? (b.text ?? "") : "")).join(""),
      structured: tool?.input,
      truncated: parsed.data.stop_reason === "max_tokens",
      usage: { input: parsed.data.usage?.input_tokens, output: parsed.data.usage?.output_tokens },
    };
  }

  private url(): string {
    return `${this.cfg.baseUrl.replace(/\/+$/, "")}/v1/messages`;
  }

  private headers(): Record<string, string> {
    return { "x-api-key": this.cfg.apiKey, "anthropic-version": this.cfg.version };
  }

  private body(req: ChatRequest): Record<string, unknown> {
    return {
      model: this.cfg.model,
      max_tokens: req.maxTokens,
      system: req.system,
      messages: [{ role: "user", content: req.user }],
      temperature: 0.2,
      tools: [{ name: req.output.name, description: req.output.description, input_schema: req.output.schema }],
      tool_choice: { type: "tool", name: req.output.name },
    };
  }

  private httpError(status: number, json: unknown, text: string): ModelError {
    const body = ErrorBody.safeParse(json);
    const detail = body.success ? `${body.data.error.type}: ${body.data.error.message}` : text;
    const msg = upstreamMessage(detail, [this.cfg.apiKey]);
    return new ModelError(
      "MODEL_HTTP_ERROR",
      `${safeOrigin(this.cfg.baseUrl)} answered HTTP ${status}${msg ? `: ${msg}` : ""}`,
    );
  }
}
