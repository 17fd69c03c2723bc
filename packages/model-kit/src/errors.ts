import { MirrorError, type ModelErrorCode } from "@mirror/contracts";

/**
 * Why an adapter could not answer, built from the error registry. `status` becomes the Services API
 * error code of the reply (the bus kit reads it), and the message starts with the code so callers can
 * match on it.
 */
export class ModelError extends MirrorError {
  override name = "ModelError";
  declare readonly code: ModelErrorCode;
  constructor(code: ModelErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, `[${code}] ${message}`, { cause: opts.cause });
  }
}

/** The metric outcome of an error: its code in lower case, or "error" for anything unexpected. */
export function outcomeOf(err: unknown): string {
  return err instanceof ModelError ? err.code.slice("MODEL_".length).toLowerCase() : "error";
}
