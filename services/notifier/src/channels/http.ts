import { Agent, type Dispatcher, request } from "undici";
import type { SendResult } from "./types.js";

/** Error bodies are read up to this size only (a 10 MB answer is never buffered). */
const MAX_ERROR_BODY = 2_048;

export interface HttpRequest {
  url: string;
  method?: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

function abortAfter(ms: number, signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([timeout, signal]) : timeout;
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = Number(value.trim());
  if (Number.isFinite(s) && s >= 0) return Math.round(s * 1000);
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Reads at most `limit` bytes of a body and drops the rest. */
async function readCapped(body: Dispatcher.ResponseData["body"], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= limit) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, limit).replace(/\s+/g, " ").trim();
}

/**
 * 4xx answers that say "later", not "never": 408 Request Timeout, 424 Failed Dependency (what
 * the Apprise API answers when a downstream service failed), 425 Too Early, 429 Too Many Requests.
 */
export const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 424, 425, 429]);

/** Network errors, timeouts, RETRYABLE_4XX and 5xx are worth retrying; other 4xx are not. */
export function classify(status: number): "ok" | "retry" | "fail" {
  if (status >= 200 && status < 300) return "ok";
  if (RETRYABLE_4XX.has(status) || status >= 500) return "retry";
  return "fail";
}

/**
 * One keep-alive pool for every channel: notifications to the same receiver reuse connections.
 * undici `request`, not `fetch`: fetch builds WHATWG Request/Response/Headers objects and
 * streams per call, which was most of the CPU a delivery cost.
 */
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

/**
 * Sends one HTTP request with a timeout. The response body is never parsed (a receiver may
 * answer anything); on failure a short, capped excerpt goes into the error.
 */
export async function sendHttp(req: HttpRequest): Promise<SendResult> {
  let res: Dispatcher.ResponseData;
  try {
    // Redirects are not followed (undici's request never follows them without an interceptor).
    res = await request(req.url, {
      method: (req.method ?? "POST") as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body,
      signal: abortAfter(req.timeoutMs, req.signal),
      dispatcher: agent,
    });
  } catch (err) {
    const e = err as Error & { code?: unknown; cause?: { code?: string; message?: string } };
    // Socket errors carry a string code (ECONNREFUSED); a DOMException's code is a number.
    const code = typeof e.code === "string" ? e.code : undefined;
    const why =
      e.name === "TimeoutError"
        ? `timed out after ${req.timeoutMs}ms`
        : (code ?? e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, retryable: true, error: `request failed: ${why}` };
  }
  const verdict = classify(res.statusCode);
  if (verdict === "ok") {
    await res.body.dump().catch(() => undefined);
    return { ok: true, status: res.statusCode };
  }
  const excerpt = await readCapped(res.body, MAX_ERROR_BODY).catch(() => "");
  const error = `HTTP ${res.statusCode}${excerpt ? `: ${excerpt.slice(0, 300)}` : ""}`;
  const retryAfter = res.headers["retry-after"];
  return {
    ok: false,
    retryable: verdict === "retry",
    retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null)),
    status: res.statusCode,
    error,
  };
}
