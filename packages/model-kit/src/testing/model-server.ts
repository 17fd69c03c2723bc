import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";

/** One request the fake model server received. */
export interface ModelCall {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown> | undefined;
}

/** How the server answers one call. */
export type Behaviour =
  | { status?: number; json: unknown; delayMs?: number }
  | { status?: number; text: string; delayMs?: number }
  /** 200 headers, then a byte every 50 ms, never finishing: a server streaming forever. */
  | { trickle: true }
  /** Never answers at all. */
  | { hang: true };

export interface ModelServer {
  readonly url: string;
  readonly calls: ModelCall[];
  /** Decides each answer; called with the call and its index (0-based). */
  script(fn: (call: ModelCall, index: number) => Behaviour): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 for tests of model adapters: it records each request and
 * answers as scripted, in whatever wire format the test builds (see openaiCompletion, anthropicMessage).
 */
export async function startModelServer(): Promise<ModelServer> {
  const calls: ModelCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let decide: (call: ModelCall, index: number) => Behaviour = () => ({
    status: 500,
    json: { error: { message: "not scripted" } },
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const call: ModelCall = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        json: parse(body),
      };
      calls.push(call);
      answer(res, decide(call, calls.length - 1), timers);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    script: (fn) => void (decide = fn),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(res: ServerResponse, b: Behaviour, timers: Set<NodeJS.Timeout>): void {
  if ("hang" in b) return;
  if ("trickle" in b) {
    res.writeHead(200, { "content-type": "application/json" });
    res.write("{");
    const t = setInterval(() => res.write(" "), 50);
    timers.add(t);
    res.on("close", () => clearInterval(t));
    return;
  }
  const send = () => {
    const isJson = "json" in b;
    res.writeHead(b.status ?? 200, { "content-type": isJson ? "application/json" : "text/plain" });
    res.end(isJson ? JSON.stringify(b.json) : b.text);
  };
  if (b.delayMs) {
    const t = setTimeout(send, b.delayMs);
    timers.add(t);
  } else send();
}

function parse(body: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A chat.completion object as OpenAI documents it. */
export function openaiCompletion(
  content: string | null,
  opts: { finishReason?: string; model?: string; refusal?: string } = {},
): unknown {
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: 1_741_569_952,
    model: opts.model ?? "test-model",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: opts.refusal ?? null, annotations: [] },
        logprobs: null,
        finish_reason: opts.finishReason ?? "stop",
      },
    ],
    usage: { prompt_tokens: 120, completion_tokens: 40, total_tokens: 160 },
  };
}

/** An OpenAI error body: { error: { message, type, param, code } }. */
export function openaiError(message: string, type = "invalid_request_error"): unknown {
  return { error: { message, type, param: null, code: null } };
}

/** A Messages API message as Anthropic documents it, with text and/or tool_use content blocks. */
export function anthropicMessage(
  content: ({ text: string } | { tool: string; input: unknown })[],
  opts: { stopReason?: string } = {},
): unknown {
  return {
    id: "msg_test",
    type: "message",
    role: "assistant",
    model: "claude-test",
    content: content.map((c, i) =>
      "text" in c
        ? { type: "text", text: c.text }
        : { type: "tool_use", id: `toolu_${i}`, name: c.tool, input: c.input },
    ),
    stop_reason: opts.stopReason ?? (content.some((c) => "tool" in c) ? "tool_use" : "end_turn"),
    stop_sequence: null,
    usage: { input_tokens: 150, output_tokens: 35 },
  };
}

/** An Anthropic error body: { type: "error", error: { type, message } }. */
export function anthropicError(type: string, message: string): unknown {
  return { type: "error", error: { type, message }, request_id: "req_test" };
}

/** The user-visible prompt text of a recorded call, in either wire format (messages' text content). */
export function promptText(call: ModelCall | undefined): string {
  const messages = (call?.json?.messages ?? []) as { role?: string; content?: unknown }[];
  return messages
    .filter((m) => m.role === "user")
    .map((m) =>
      typeof m.content === "string"
        ? m.content
        : Array.isArray(m.content)
          ? m.content.map((b) => (b as { text?: string }).text ?? "").join("")
          : "",
    )
    .join("\n");
}

export { callerBus, dirtyLoop, failure, LogSink, metricsText } from "./fixtures.js";
