/** Error of a bounded wait that ran out of time. */
export class WaitTimeoutError extends Error {
  override name = "WaitTimeoutError";
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or the deadline passes.
 * The interval is a poll cadence, not a guess at how long something takes.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeout?: number; interval?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeout ?? 10_000);
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new WaitTimeoutError(
        `timed out after ${opts.timeout ?? 10_000}ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.interval ?? 25));
  }
}
