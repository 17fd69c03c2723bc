import type { OutputSpec } from "./output.js";

/** One call to a model server, in wire-neutral form. */
export interface ChatRequest {
  system: string;
  user: string;
  output: OutputSpec;
  maxTokens: number;
  /** Aborts the call (deadline reached); the client must stop reading the body too. */
  signal: AbortSignal;
}

/** What came back: the text, or an already structured object (a forced tool call). */
export interface ChatResult {
  text: string;
  structured?: unknown;
  usage?: { input?: number; output?: number };
  /** The model stopped at the token limit. */
  truncated?: boolean;
}

/**
 * A model server speaking one wire format (OpenAI chat completions, Anthropic Messages). It throws
 * ModelError for every failure and never puts its API key in a message.
 */
export interface ChatClient {
  /** Adapter name put in every reply: "openai", "anthropic". */
  readonly adapter: string;
  readonly model: string;
  chat(req: ChatRequest): Promise<ChatResult>;
}
