/** Load shapes shared by the benches: as fast as possible with N in flight, or paced at a rate. */

/** Runs fn(0..count-1) with at most `inFlight` at once. */
export async function pool(count: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}

/**
 * Starts fn(i) at `perSec` (drift-free: each 5 ms tick starts whatever is due by now), without
 * waiting for earlier calls; resolves when every call has settled. Rejections are counted.
 */
export function paced(
  count: number,
  perSec: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ failed: number; lateMs: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const pending: Promise<unknown>[] = [];
    let started = 0;
    let failed = 0;
    let lateMs = 0;
    const tick = () => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) * perSec) / 1000) + 1);
      // How far behind schedule the issuing itself fell (a starved event loop shows here).
      if (due - started > 1) lateMs = Math.max(lateMs, performance.now() - t0 - (started * 1000) / perSec);
      for (; started < due; started++) pending.push(fn(started).catch(() => failed++));
      if (started >= count) {
        clearInterval(timer);
        void Promise.all(pending).then(() => resolve({ failed, lateMs }));
      }
    };
    const timer = setInterval(tick, 5);
    tick();
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
