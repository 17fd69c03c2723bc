import { MODEL_ERRORS, type ModelErrorCode } from "@mirror/contracts";

/**
 * Why an adapter could not answer. `status` becomes the Services API error code of the reply
 * (the bus kit reads it), and the message starts with the code so callers can match on it.
 */
export class ModelError extends Error {
  override name = "ModelError";
  readonly code: ModelErrorCode;
  readonly status: number;
  readonly retryable = true;
  constructor(code: ModelErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(`[${code}] ${message}`, { cause: opts.cause });
    this.code = code;
    this.status = MODEL_ERRORS[code];
  }
}

/** The metric outcome of an error: its code in lower case, or "error" for anything unexpected. */
export function outcomeOf(err: unknown): string {
  return err instanceof ModelError ? err.code.slice("MODEL_".length).toLowerCase() : "error";
}
