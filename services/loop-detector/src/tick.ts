import { TIMER_SLACK_MS } from "@mirror/kit";
import type { Logger } from "pino";
import type { Detector } from "./detector.js";
import type { LoopStore } from "./store.js";

export interface TickDeps {
  detector: Detector;
  store: LoopStore;
  log: Logger;
  now: () => number;
  /** Extra periodic work (triage retries). */
  also?: () => Promise<void>;
}

/**
 * One pass of the periodic work: publish what the outbox still holds, then evaluate every
 * entity whose time has come (an `after` that passed, a snooze that ended, a parent that changed).
 */
export async function tick(deps: TickDeps): Promise<number> {
  await deps.detector.engine.outbox.drain(2_000);
  const due = await deps.store.dueEntities(deps.now());
  for (const key of due) {
    try {
      await deps.detector.reevaluate(key);
    } catch (err) {
      deps.log.warn({ err: (err as Error).message, entity: key }, "re-evaluation failed; will retry on the next tick");
    }
  }
  await deps.also?.();
  return due.length;
}

/** With nothing due sooner, the ticker sleeps at most this many ticks (maintenance windows added by another replica, a site that fell silent, an entry another replica wrote and then died). */
export const IDLE_TICKS = 10;

/**
 * Runs tick() when something is due instead of every `everyMs`: after each tick it reads the
 * earliest wake-up time in Redis (entities and triage retries, shared by the replicas) and sleeps
 * until then, at least `everyMs` and at most `idleTicks` ticks; `wake(at)` (this replica wrote a
 * wake-up time: a commit, a wake-now, a triage lease) brings the next tick forward to `at`, never
 * sooner than `everyMs` from now. Real time for the sleep; the rules and due times use the
 * injected clock.
 */
export function startTicker(
  deps: TickDeps,
  everyMs: number,
  opts: {
    /** Ticks it may sleep when nothing is due sooner (default IDLE_TICKS; 1 polls every tick). */
    idleTicks?: number;
    timers?: { set: typeof setTimeout; clear: typeof clearTimeout; mono: () => number };
  } = {},
): { stop(): Promise<void>; wake(at: number): void } {
  const timers = opts.timers ?? { set: setTimeout, clear: clearTimeout, mono: () => performance.now() };
  const idleMs = everyMs * (opts.idleTicks ?? IDLE_TICKS);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  /** When the timer fires (monotonic ms). */
  let fireAt = Number.POSITIVE_INFINITY;
  let running: Promise<unknown> | undefined;
  /** The earliest wake-up asked for while a tick ran (the injected clock's ms). */
  let pending = Number.POSITIVE_INFINITY;
  let failures = 0;
  const schedule = (delay: number) => {
    if (stopped) return;
    if (timer) timers.clear(timer);
    const ms = Math.max(0, Math.round(delay));
    fireAt = timers.mono() + ms;
    timer = timers.set(loop, ms);
  };
  const delayTo = (at: number) => Math.min(idleMs, Math.max(everyMs, at - deps.now() + TIMER_SLACK_MS));
  const loop = () => {
    if (stopped || running) return;
    timer = undefined;
    fireAt = Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    running = tick(deps)
      .then(async () => {
        if (failures > 0) deps.log.info({ failures }, "tick works again");
        failures = 0;
        next = (await deps.store.nextDue().catch(() => null)) ?? Number.POSITIVE_INFINITY;
      })
      .catch((err) => {
        // One line when it starts failing (Redis away), then one a minute or so, not one per tick.
        if (failures++ % 60 === 0) deps.log.warn({ err: (err as Error).message, failures }, "tick failed; retrying");
        next = deps.now();
      })
      .finally(() => {
        running = undefined;
        const at = Math.min(next, pending);
        pending = Number.POSITIVE_INFINITY;
        schedule(delayTo(at));
      });
  };
  schedule(0);
  return {
    wake(at: number) {
      if (stopped) return;
      if (running) {
        pending = Math.min(pending, at);
        return;
      }
      const delay = delayTo(at);
      if (timers.mono() + delay < fireAt) schedule(delay);
    },
    async stop() {
      stopped = true;
      if (timer) timers.clear(timer);
      await running;
    },
  };
}
