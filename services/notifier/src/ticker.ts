import type { Logger } from "pino";

/**
 * Runs `work` every `everyMs` without overlapping itself. Decisions inside use the injected
 * clock; this only sets how often the notifier looks at what is due.
 */
export function startTicker(
  work: () => Promise<void>,
  everyMs: number,
  log: Logger,
): { stop(): Promise<void>; kick(): void } {
  let stopped = false;
  let running: Promise<void> | undefined;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  // A kick during a run (news arrived after it read what was due) runs once more right after,
  // instead of leaving that news to the next interval.
  let kicked = false;
  const run = () => {
    if (stopped || running) return;
    running = work()
      .then(
        () => {
          if (failing) log.info("scheduler recovered");
          failing = false;
        },
        (err) => {
          if (!failing) log.warn({ err: (err as Error).message }, "scheduler tick failed; retrying");
          failing = true;
        },
      )
      .finally(() => {
        running = undefined;
        if (kicked) {
          kicked = false;
          run();
        }
      });
  };
  timer = setInterval(run, everyMs);
  return {
    kick: () => {
      if (running) kicked = true;
      else run();
    },
    stop: async () => {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
