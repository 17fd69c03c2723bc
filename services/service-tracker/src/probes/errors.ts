const CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the server",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed while sending",
  ETIMEDOUT: "connect timed out",
  UND_ERR_CONNECT_TIMEOUT: "connect timed out",
  UND_ERR_HEADERS_TIMEOUT: "timed out waiting for response headers",
  UND_ERR_BODY_TIMEOUT: "timed out reading the body",
  UND_ERR_SOCKET: "connection closed by the server",
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: "request body length mismatch",
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: "response body shorter than its content-length",
  UND_ERR_INVALID_ARG: "invalid request",
  HPE_INVALID_CONSTANT: "not an HTTP response",
  HPE_INVALID_HEADER_TOKEN: "malformed HTTP response headers",
};

const TLS = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ERR_TLS/;

/** A short, stable reason for a probe error (no stack, no secrets from the URL). */
export function describeError(err: unknown, host: string): string {
  let e = err as { code?: string; message?: string; cause?: unknown };
  // undici wraps socket errors; the cause carries the system code.
  if (!e?.code && e?.cause) e = e.cause as typeof e;
  const code = e?.code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME")
    return `DNS lookup failed for ${host} (${code})`;
  if (TLS.test(code)) {
    // OpenSSL messages carry "<addr>:error:<code>:SSL routines:<fn>:<reason>:<file>:<line>"; the reason is what reads.
    const first = (e.message ?? "").split("\n")[0]?.trim() ?? "";
    const reason = /:SSL routines:[^:]*:([^:]+):/.exec(first)?.[1] ?? first;
    return `TLS error: ${code}${reason ? ` (${reason})` : ""}`;
  }
  if (CODES[code]) return `${CODES[code]} (${code})`;
  const msg = (e?.message ?? String(err)).split("\n")[0] ?? "unknown error";
  return code ? `${msg} (${code})` : msg;
}
