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
async function readCapped(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, limit).replace(/\s+/g, " ").trim();
}

/** Network errors, timeouts, 408, 429 and 5xx are worth retrying; other 4xx are not. */
export function classify(status: number): "ok" | "retry" | "fail" {
  if (status >= 200 && status < 300) return "ok";
  if (status === 408 || status === 429 || status >= 500) return "retry";
  return "fail";
}

/**
 * Sends one HTTP request with a timeout. The response body is never parsed (a receiver may
 * answer anything); on failure a short, capped excerpt goes into the error.
 */
export async function sendHttp(req: HttpRequest): Promise<SendResult> {
  let res: Response;
  try {
    res = await fetch(req.url, { method: req.method ?? "POST", headers: req.headers, body: req.body, signal: abortAfter(req.timeoutMs, req.signal), redirect: "manual" });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === "TimeoutError" ? `timed out after ${req.timeoutMs}ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, retryable: true, error: `request failed: ${why}` };
  }
  const verdict = classify(res.status);
  if (verdict === "ok") {
    await res.body?.cancel().catch(() => undefined);
    return { ok: true, status: res.status };
  }
  const excerpt = await readCapped(res, MAX_ERROR_BODY).catch(() => "");
  const error = `HTTP ${res.status}${excerpt ? `: ${excerpt.slice(0, 300)}` : ""}`;
  return { ok: false, retryable: verdict === "retry", retryAfterMs: parseRetryAfter(res.headers.get("retry-after")), status: res.status, error };
}
