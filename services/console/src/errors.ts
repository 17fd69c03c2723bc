/** A console request that cannot be done: the HTTP status (and Services API error code) says why. */
export class ConsoleError extends Error {
  override name = "ConsoleError";
  readonly retryable = false;
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
