import type { Logger } from "pino";

/**
 * Runs `work` every `everyMs` without overlapping itself; after a run that found nothing to do
 * (`work` resolves false) the next one waits `idleMs` instead, so an idle notifier wakes up (and
 * asks Redis) a few times less often. Decisions inside use the injected clock; this only sets
 * how often the notifier looks at what is due.
 */
export function startTicker(
  work: () => Promise<boolean | undefined>,
  everyMs: number,
  log: Logger,
  idleMs = everyMs,
): { stop(): Promise<void>; kick(): void } {
  let stopped = false;
  let running: Promise<void> | undefined;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  // A kick during a run (news arrived after it read what was due) runs once more right after,
  // instead of leaving that news to the next interval.
  let kicked = false;
  let next = everyMs;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = stopped ? undefined : setTimeout(run, next);
  };
  const run = () => {
    if (stopped || running) return;
    running = work()
      .then(
        (busy) => {
          if (failing) log.info("scheduler recovered");
          failing = false;
          next = busy === false ? idleMs : everyMs;
        },
        (err) => {
          if (!failing) log.warn({ err: (err as Error).message }, "scheduler tick failed; retrying");
          failing = true;
          next = everyMs;
        },
      )
      .finally(() => {
        running = undefined;
        if (kicked) {
          kicked = false;
          run();
        } else schedule();
      });
  };
  schedule();
  return {
    kick: () => {
      if (running) kicked = true;
      else run();
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
