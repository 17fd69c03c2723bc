import { HISTORY_WINDOWS } from "@mirror/contracts";

/** A request the history cannot answer as asked; `status` becomes the Services API error code. */
export class HistoryRequestError extends Error {
  override readonly name = "HistoryRequestError";
  readonly code = "MIRROR_ERR_HISTORY_REQUEST";
  readonly retryable = false;
  constructor(
    message: string,
    readonly status: 400 | 404,
  ) {
    super(message);
  }
}

export const badWindow = (w: unknown) => new HistoryRequestError(`unknown window ${JSON.stringify(w)}; allowed: ${HISTORY_WINDOWS.join(", ")}`, 400);
