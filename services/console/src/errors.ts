import { type ErrorCode, MirrorError, type MirrorErrorOptions } from "@mirror/contracts";

/** A console request that cannot be done, built from the error registry: its `status` is the HTTP status (and Services API error code). */
export class ConsoleError extends MirrorError {
  override name = "ConsoleError";
  constructor(code: ErrorCode, message: string, options?: MirrorErrorOptions) {
    super(code, message, options);
  }
}
