import type { ServiceContext, Started } from "@mirror/kit";
import { ConfigError } from "@mirror/kit";
import { compileChecks, scheduleActiveChecks } from "./active.js";
import { TrackerMetrics } from "./metrics.js";
import { HttpProber } from "./probes/http.js";
import { StatusPublisher } from "./publisher.js";
import { Scheduler } from "./scheduler.js";
import { StatusBook } from "./tracker.js";

/** The running tracker: what tests poke at besides the bus. */
export interface RunningTracker extends Started {
  book: StatusBook;
  scheduler: Scheduler;
}

/** Wires the tracker: parse checks (a bad condition is a config error), schedule, publish. */
export async function startTracker(ctx: ServiceContext): Promise<RunningTracker> {
  const cfg = ctx.config.tracker;
  const { checks, problems } = compileChecks(cfg);
  if (problems.length) throw new ConfigError(ctx.env.MIRROR_CONFIG ?? "mirror.yaml", problems);
  const metrics = new TrackerMetrics(ctx.registry);
  const publisher = new StatusPublisher(ctx.bus, ctx.log, (_s, outcome) => metrics.published.inc({ outcome }));
  const book = new StatusBook({ clock: ctx.clock, log: ctx.log, metrics, publisher, resyncEvery: cfg.resyncEvery });
  const scheduler = new Scheduler(ctx.clock, {
    concurrency: cfg.concurrency,
    onError: (id, err) => ctx.log.error({ err, job: id }, "scheduled job failed"),
    onLag: (ms) => metrics.lag.observe(ms / 1000),
  });
  const prober = new HttpProber({ maxBody: cfg.maxBody, now: () => ctx.clock.now() });
  scheduleActiveChecks(checks, { scheduler, book, prober, metrics, clock: ctx.clock, tracker: cfg });
  ctx.log.info({ checks: checks.length }, "tracking");
  return {
    book,
    scheduler,
    metadata: { checks: String(checks.length) },
    stop: async () => {
      scheduler.stop();
      await publisher.close();
      await prober.close();
    },
  };
}
