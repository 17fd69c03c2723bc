/** Exponential backoff with full jitter: a random delay in [base/2, base * 2^(attempt-1)], capped. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const floor = Math.min(ceiling, baseMs / 2);
  return Math.round(floor + (ceiling - floor) * random());
}

/** The delay before the next attempt: the receiver's Retry-After when it gave one (bounded), else backoff. */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  baseMs: number,
  maxMs: number,
  random?: () => number,
): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 0), Math.max(maxMs, 3_600_000));
  return backoffDelay(attempt, baseMs, maxMs, random);
}
