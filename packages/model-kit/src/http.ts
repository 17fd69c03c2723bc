import { ModelError } from "./errors.js";

/** Model servers answer small JSON; anything bigger is a broken or hostile server. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export interface HttpReply {
  status: number;
  /** The parsed JSON body, or undefined when it is not JSON. */
  json: unknown;
  text: string;
}

/**
 * POSTs JSON and reads the whole reply within the signal's deadline and a size cap. Connection
 * failures become MODEL_UNAVAILABLE, the deadline MODEL_TIMEOUT. Header values (API keys) never
 * appear in an error message.
 */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<HttpReply> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body: JSON.stringify(body),
      signal,
      redirect: "error",
    });
  } catch (err) {
    throw networkError(err, signal, url);
  }
  let text: string;
  try {
    text = await readCapped(res, signal);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw networkError(err, signal, url);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function readCapped(res: Response, signal: AbortSignal): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new ModelError("MODEL_HTTP_ERROR", `the reply is larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function networkError(err: unknown, signal: AbortSignal, url: string): ModelError {
  const where = safeOrigin(url);
  if (signal.aborted) return new ModelError("MODEL_TIMEOUT", `${where} did not answer in time`, { cause: err });
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new ModelError("MODEL_UNAVAILABLE", `${where} could not be reached: ${why}`, { cause: err });
}

/** Scheme, host and port only: a URL may carry credentials or a key in its query. */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "the model server";
  }
}

/** An upstream error text, cut short and with the key (and anything key-like) removed. */
export function upstreamMessage(text: string, secrets: (string | undefined)[]): string {
  let out = text.slice(0, 300);
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("[redacted]");
  return out
    .replace(/\b(sk-[A-Za-z0-9_-]{4})[A-Za-z0-9_*-]+/g, "$1…[redacted]")
    .replace(/\s+/g, " ")
    .trim();
}
