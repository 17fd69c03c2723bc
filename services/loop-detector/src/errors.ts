/** A command on a loop that cannot be done; `status` is the HTTP status and the Services API error code. */
export class LoopCommandError extends Error {
  override name = "LoopCommandError";
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (id: string) => new LoopCommandError("MIRROR_ERR_LOOP_NOT_FOUND", 404, `no loop with id "${id}"`);
export const badRequest = (message: string) => new LoopCommandError("MIRROR_ERR_BAD_REQUEST", 400, message);
export const conflict = (message: string) => new LoopCommandError("MIRROR_ERR_LOOP_STATE", 409, message);
