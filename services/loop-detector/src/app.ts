import { repoGone, repoSnapshot, serviceStatus } from "@mirror/contracts";
import { type ServiceContext, type ServiceSpec, type Started, serverClock, systemClock } from "@mirror/kit";
import { Detector } from "./detector.js";
import { loopEndpoints } from "./endpoints.js";
import { LoopApi } from "./loop-api.js";
import { MaintenanceApi } from "./maintenance-api.js";
import { loopMetrics } from "./metrics.js";
import { rebuildIfEmpty } from "./rebuild.js";
import { registerRoutes } from "./routes.js";
import { LoopStore } from "./store.js";
import { IDLE_TICKS, startTicker } from "./tick.js";
import { Triager } from "./triage.js";

/** Durable consumer names are public API (the bus identity table provisions them): renaming one replays or skips history. */
export const DURABLES = {
  repo: "loop-detector-repo",
  repoGone: "loop-detector-repo-gone",
  service: "loop-detector-service",
} as const;

/** Wires the detector to the store, the bus, HTTP, the model and the tick. */
export async function start(ctx: ServiceContext, ready: (api: LoopApi) => void = () => {}): Promise<Started> {
  const { bus, config, log } = ctx;
  // Timers, triage retries and maintenance ends are due times in Redis shared with the other
  // replicas: on the Redis server's time, so a host whose clock is minutes off leaves none of
  // them late behind it (an injected test clock is taken as it is).
  const server = ctx.clock === systemClock ? await serverClock(ctx.store, { log, registry: ctx.registry }) : undefined;
  const clock = server ?? ctx.clock;
  const loops = config.loops;
  const store = new LoopStore(ctx.store);
  const metrics = loopMetrics(ctx.registry, store);
  const detector = new Detector({
    config,
    store,
    bus,
    clock,
    log,
    onChanges: (changes) => {
      for (const c of changes) metrics.events.inc({ event: c.event, kind: c.loop.kind });
    },
    onRejected: (reason) => metrics.rejected.inc({ reason }),
    onStale: (source) => metrics.stale.inc({ source }),
    onSiteIgnored: (site, reason) => metrics.siteIgnored.inc({ site, reason }),
  });
  const triager = new Triager({
    bus,
    engine: detector.engine,
    store,
    clock,
    log,
    timeoutMs: loops.triageTimeout,
    retryMs: loops.triageRetry,
    historyLimit: loops.historyLimit,
    onOutcome: (outcome) => metrics.triage.inc({ outcome }),
  });
  if (loops.triage) {
    detector.onOpened = (loop) => triager.start(loop);
    detector.folding = triager;
  }
  await detector.engine.outbox.drain();
  await rebuildIfEmpty({ bus, store, detector, log, source: ctx.name });
  const api = new LoopApi({ store, engine: detector.engine, clock, historyLimit: loops.historyLimit });
  const maintenance = new MaintenanceApi({ store, detector, clock });
  await maintenance
    .refresh()
    .catch((err: Error) => log.warn({ err: err.message }, "runtime maintenance windows not loaded"));
  ready(api);
  // With two or more others held, an opening may wait for its triage: the queue hides the wait (triage-fold.ts).
  bus.consume(
    repoSnapshot,
    DURABLES.repo,
    async (s, m) => void (await detector.onRepoSnapshot(s, m.token, m.backlog >= FOLD_BACKLOG)),
  );
  bus.consume(repoGone, DURABLES.repoGone, async (g, m) => void (await detector.onRepoGone(g, m.token)));
  bus.consume(serviceStatus, DURABLES.service, async (s, m) => void (await detector.onServiceStatus(s, m.source)));
  ctx.watchConfig({
    restartOnly: [
      "loops.port",
      "loops.tick",
      "loops.triage",
      "loops.triageTimeout",
      "loops.triageRetry",
      "loops.historyLimit",
    ],
    apply: (next) => {
      detector.configure(next);
      // Every entity is looked at again on the next tick, so new rules and windows apply now, not at its next input.
      void store
        .entityKeys()
        .then((keys) => store.wakeNow(keys, clock.now()))
        .catch((err: Error) => log.warn({ err: err.message }, "entities not woken after a reload"));
      return { maintenance: next.loops.maintenance.map((w) => w.name), rules: Object.keys(next.loops.rules) };
    },
  });
  // Each tick also reloads the runtime maintenance windows: another replica may have changed them.
  const also = async () => {
    await detector.sites.sweep();
    await maintenance.refresh();
    if (loops.triage) await triager.retryDue();
  };
  // It sleeps until the next due time only on a clock that runs in real time (a test's injected
  // clock jumps: a tick every loops.tick, as before).
  const ticker = startTicker({ detector, store, log, now: () => clock.now(), also }, loops.tick, {
    idleTicks: server ? IDLE_TICKS : 1,
  });
  store.onWake = (at) => ticker.wake(at);
  // The loop-detector reads the stream's history anyway: it exports the streams' figures, so
  // JetStream's health reaches Prometheus without an exporter or a monitoring port. Read when
  // /metrics is scraped (at most every 5 s), not on a timer: an idle mesh asks nothing.
  const unwatchStreams = bus.metrics.watchStreams(() => bus.reportStreams());
  return {
    endpoints: loopEndpoints(api, maintenance),
    stop: async () => {
      server?.stop();
      unwatchStreams();
      await ticker.stop();
      await triager.stop();
      await detector.engine.outbox.clear();
    },
  };
}

/** Other snapshots held by the consumer from which an opening waits for its triage (folds it into one event). */
const FOLD_BACKLOG = 2;

/** The loop-detector's spec: main.ts runs it with defineService(), tests with runService() (one spec per instance). */
export function loopDetectorSpec(): ServiceSpec {
  let api: LoopApi | undefined;
  return {
    name: "loop-detector",
    description: "turns snapshots and statuses into open loops with a lifecycle",
    port: (c) => c.loops.port,
    // The server listens before start(); until then the loop routes answer 503.
    routes: (http) => registerRoutes(http, () => api),
    start: (ctx) => start(ctx, (a) => (api = a)),
  };
}
