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

/** Runs tick() every `everyMs` (real time; the rules use the injected clock) until stopped. */
export function startTicker(deps: TickDeps, everyMs: number): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let failures = 0;
  const loop = () => {
    if (stopped) return;
    running = tick(deps)
      .then(() => {
        if (failures > 0) deps.log.info({ failures }, "tick works again");
        failures = 0;
      })
      .catch((err) => {
        // One line when it starts failing (Redis away), then one a minute or so, not one per tick.
        if (failures++ % 60 === 0) deps.log.warn({ err: (err as Error).message, failures }, "tick failed; retrying");
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, everyMs);
      });
  };
  timer = setTimeout(loop, 0);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
