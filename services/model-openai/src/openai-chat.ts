import type { OpenAIModelConfig } from "@mirror/contracts";
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

/** The parts of a chat-completions reply we read; servers add more, which is fine. */
const Completion = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z
            .union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() })), z.null()])
            .optional(),
          refusal: z.string().nullable().optional(),
        }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  usage: z
    .object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() })
    .nullable()
    .optional(),
});

/** Servers that do not know `response_format: json_schema` say so in a 400 naming it. */
const STRUCTURED_UNSUPPORTED = /response_format|json_schema|structured/i;

/**
 * An OpenAI-compatible chat-completions server: POST {baseUrl}/chat/completions, non-streaming,
 * with structured output when the server takes it and plain JSON-in-text when it does not.
 */
export class OpenAIChat implements ChatClient {
  readonly adapter = "openai";
  readonly model: string;
  private structured: boolean;

  constructor(private readonly cfg: OpenAIModelConfig) {
    this.model = cfg.model;
    this.structured = cfg.structuredOutput;
  }

  async chat(req: ChatRequest): Promise<ChatResult> {
    const useSchema = this.structured;
    const res = await postJson(this.url(), this.body(req, useSchema), this.headers(), req.signal);
    if (res.status === 400 && useSchema && STRUCTURED_UNSUPPORTED.test(res.text)) {
      // Remembered for the life of the process: the server will not learn it in between.
      this.structured = false;
      return this.chat(req);
    }
    if (res.status < 200 || res.status >= 300) throw this.httpError(res.status, res.json, res.text);
    const parsed = Completion.safeParse(res.json);
    if (!parsed.success) {
      const what = res.json === undefined ? "a body that is not JSON" : "JSON that is not a chat completion";
      throw new ModelError("MODEL_HTTP_ERROR", `${safeOrigin(this.cfg.baseUrl)} answered ${res.status} with ${what}`);
    }
    const choice = parsed.data.choices[0] as z.infer<typeof Completion>["choices"][number];
    if (choice.message.refusal)
      throw new ModelError("MODEL_BAD_OUTPUT", `the model refused: ${upstreamMessage(choice.message.refusal, [])}`);
    return {
      text: textOf(choice.message.content),
      truncated: choice.finish_reason === "length",
      usage: { input: parsed.data.usage?.prompt_tokens, output: parsed.data.usage?.completion_tokens },
    };
  }

  private url(): string {
    return `${this.cfg.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  }

  private headers(): Record<string, string> {
    return this.cfg.apiKey ? { authorization: `Bearer ${this.cfg.apiKey}` } : {};
  }

  private body(req: ChatRequest, useSchema: boolean): Record<string, unknown> {
    return {
      model: this.cfg.model,
      messages: [
        { role: "system", content: req.system },
        { role: "user", content: req.user },
      ],
      max_tokens: req.maxTokens,
      temperature: 0.2,
      stream: false,
      ...(useSchema
        ? {
            response_format: {
              type: "json_schema",
              json_schema: {
                name: req.output.name,
                description: req.output.description,
                strict: true,
                schema: req.output.schema,
              },
            },
          }
        : {}),
    };
  }

  private httpError(status: number, json: unknown, text: string): ModelError {
    const msg = (json as { error?: { message?: unknown } } | undefined)?.error?.message;
    const detail = upstreamMessage(typeof msg === "string" ? msg : text, [this.cfg.apiKey]);
    return new ModelError(
      "MODEL_HTTP_ERROR",
      `${safeOrigin(this.cfg.baseUrl)} answered HTTP ${status}${detail ? `: ${detail}` : ""}`,
    );
  }
}

function textOf(content: string | { type: string; text?: string }[] | null | undefined): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? "").join("");
  return "";
}
