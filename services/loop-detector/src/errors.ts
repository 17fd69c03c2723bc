import { type ErrorCode, errorSpec, formatErrorMessage, MirrorError } from "@mirror/contracts";

/** A command on a loop that cannot be done; its registry `status` is the HTTP status and the Services API error code. */
export class LoopCommandError extends MirrorError {
  override name = "LoopCommandError";
  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}

export const notFound = (id: string) =>
  new LoopCommandError(
    "MIRROR_ERR_LOOP_NOT_FOUND",
    formatErrorMessage(errorSpec("MIRROR_ERR_LOOP_NOT_FOUND").message, [id]),
  );
export const badRequest = (message: string) => new LoopCommandError("MIRROR_ERR_BAD_REQUEST", message);
export const conflict = (message: string) => new LoopCommandError("MIRROR_ERR_LOOP_STATE", message);
