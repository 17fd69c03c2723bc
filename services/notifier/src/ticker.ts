import { TIMER_SLACK_MS } from "@mirror/kit";
import type { Logger } from "pino";

/** When an idle notifier looks next: the earliest due time in Redis, on the injected clock. */
export interface NextDue {
  next: () => Promise<number | null>;
  now: () => number;
  /** It looks at least this often anyway (work another replica took on and then died with). */
  maxIdleMs: number;
}

/**
 * Runs `work` every `everyMs` without overlapping itself; after a run that found nothing to do
 * (`work` resolves false) the next one waits `idleMs`, or with `due` until the earliest due
 * time in Redis (a group's flush, a delivery's retry or claim end, the digest), at least
 * `idleMs` and at most `due.maxIdleMs`; `wakeAt(at)` (a group this replica wrote) brings it
 * forward. Decisions inside use the injected clock; this only sets when the notifier looks.
 */
export function startTicker(
  work: () => Promise<boolean | undefined>,
  everyMs: number,
  log: Logger,
  idleMs = everyMs,
  due?: NextDue,
): { stop(): Promise<void>; kick(): void; wakeAt(at: number): void } {
  let stopped = false;
  let running: Promise<void> | undefined;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  // A kick during a run (news arrived after it read what was due) runs once more right after,
  // instead of leaving that news to the next interval.
  let kicked = false;
  let next = everyMs;
  /** When the timer fires (performance.now()). */
  let fireAt = Number.POSITIVE_INFINITY;
  /** The earliest wakeAt() asked for during a run (injected clock). */
  let pending = Number.POSITIVE_INFINITY;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = stopped ? undefined : setTimeout(run, next);
    fireAt = stopped ? Number.POSITIVE_INFINITY : performance.now() + next;
  };
  const untilDue = async (): Promise<number> => {
    if (!due) return idleMs;
    const at = Math.min((await due.next()) ?? Number.POSITIVE_INFINITY, pending);
    return Math.min(due.maxIdleMs, Math.max(idleMs, at - due.now() + TIMER_SLACK_MS));
  };
  const run = () => {
    if (stopped || running) return;
    pending = Number.POSITIVE_INFINITY;
    running = work()
      .then(
        async (busy) => {
          if (failing) log.info("scheduler recovered");
          failing = false;
          next = busy === false ? await untilDue() : everyMs;
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
    wakeAt: (at: number) => {
      if (!due || stopped) return;
      if (running) {
        pending = Math.min(pending, at);
        return;
      }
      const ms = Math.max(idleMs, at - due.now() + TIMER_SLACK_MS);
      if (performance.now() + ms < fireAt) {
        next = ms;
        schedule();
      }
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
