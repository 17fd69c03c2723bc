import { HISTORY_WINDOWS, MirrorError } from "@mirror/contracts";

/** A request the history cannot answer as asked; its registry `status` becomes the Services API error code. */
export class HistoryRequestError extends MirrorError {
  override readonly name = "HistoryRequestError";
  constructor(message: string) {
    super("MIRROR_ERR_HISTORY_REQUEST", message);
  }
}

export const badWindow = (w: unknown) =>
  new HistoryRequestError(`unknown window ${JSON.stringify(w)}; allowed: ${HISTORY_WINDOWS.join(", ")}`);
