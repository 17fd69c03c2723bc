import { endpoint } from "@mirror/bus";
import {
  anyLoopEvent,
  LOOP_EVENT_TYPES,
  type NotifierConfig,
  notifyDeliveries,
  silenceAdd,
  silenceExpire,
  silenceList,
} from "@mirror/contracts";
import { type Clock, type ServiceContext, type ServiceSpec, type Started, serverClock, systemClock } from "@mirror/kit";
import { buildChannels } from "./channels/index.js";
import { Deliverer } from "./deliverer.js";
import { DeliveryLog } from "./delivery-log.js";
import { runDigest } from "./digest.js";
import { type FlushDeps, flushDue } from "./flusher.js";
import type { FlushEnv } from "./group.js";
import { type LoopEventDeps, onLoopEvent } from "./handlers/on-loop-event.js";
import { NotifyMetrics } from "./metrics.js";
import { perTurn } from "./per-turn.js";
import { quietEndsAt } from "./quiet-hours.js";
import { Router, type Target } from "./routing.js";
import { SilenceStore } from "./silence-store.js";
import { inhibitTest, silenceTest } from "./silences.js";
import { NotifierStore } from "./store.js";
import { startTicker } from "./ticker.js";

export interface NotifierOptions {
  /** How often due groups and deliveries are looked at (real time). */
  tickMs?: number;
  /** How often an idle notifier (nothing sent or waiting for a retry at its last tick) looks (default 1 s; tickMs when set). */
  idleTickMs?: number;
  /** How long an idle notifier sleeps at most when nothing is due sooner (default 10 s; with an injected clock, set it to sleep until due at all). */
  maxIdleMs?: number;
  /** Jitter source for backoff (tests make it deterministic). */
  random?: () => number;
}

/** The flush environment of one tick: silences, inhibition and quiet hours as they are at `now`. */
async function tickEnv(
  cfg: NotifierConfig,
  store: NotifierStore,
  silences: SilenceStore,
  now: number,
): Promise<FlushDeps["env"]> {
  const silenced = silenceTest([...cfg.silences, ...(await silences.list(now))], now);
  const inhibited = inhibitTest(cfg.inhibit, cfg.inhibit.length ? await store.activeLabels() : []);
  return (target: Target): FlushEnv => {
    const ends = target.quietHours ? quietEndsAt(target.quietHours, now) : null;
    return {
      silenced,
      inhibited,
      quiet: ends !== null && target.quietHours ? { endsAt: ends, except: target.quietHours.except } : null,
    };
  };
}

function silenceEndpoints(silences: SilenceStore, ctx: ServiceContext, clock: Clock) {
  return [
    endpoint(silenceAdd, async (req) => {
      const silence = await silences.add(req, clock.now());
      ctx.log.info(
        { silenceId: silence.id, matchers: silence.matchers, until: silence.until, by: silence.createdBy },
        "silence added",
      );
      return { silence };
    }),
    endpoint(silenceList, async (req) => ({ silences: await silences.list(clock.now(), req.all) })),
    endpoint(silenceExpire, async (req) => {
      const silence = await silences.expire(req.id, clock.now());
      ctx.log.info({ silenceId: silence.id, by: req.by }, "silence expired");
      return { silence };
    }),
  ];
}

/** Wires the notifier into a running service context. */
export async function startNotifier(ctx: ServiceContext, opts: NotifierOptions = {}): Promise<Started> {
  let cfg = ctx.config.notifier;
  // Due times and claim ends are shared with the other replicas in Redis: on the server's time,
  // so a host whose clock is minutes off neither sends early nor leaves its claims stuck that
  // long after it dies (an injected test clock is taken as it is).
  const server =
    ctx.clock === systemClock ? await serverClock(ctx.store, { log: ctx.log, registry: ctx.registry }) : undefined;
  const clock = server ?? ctx.clock;
  const store = new NotifierStore(ctx.store);
  const silences = new SilenceStore(ctx.store);
  const router = new Router(cfg);
  const metrics = new NotifyMetrics(
    ctx.registry,
    cfg.channels.map((c) => c.name),
  );
  const channelOpts = {
    onMissingField: (channel: string, path: string) => {
      metrics.templateErrors.inc({ channel });
      ctx.log.warn({ channel, field: path }, "template field does not exist; it renders empty");
    },
  };
  const channels = buildChannels(cfg.channels, channelOpts);
  const rateLimits = new Map(cfg.channels.flatMap((c) => (c.rateLimit ? [[c.name, c.rateLimit] as const] : [])));
  const deliveryLog = new DeliveryLog(ctx.store, cfg.channels);
  const deliverer = new Deliverer({
    store,
    channels,
    bus: ctx.bus,
    clock,
    log: ctx.log,
    metrics,
    maxAttempts: cfg.maxAttempts,
    backoffMs: cfg.backoff,
    maxBackoffMs: cfg.maxBackoff,
    random: opts.random,
    rateLimits,
    deliveryLog,
  });
  // The loop events of one pull share their flush view (one silences read, not one each).
  const flushView = perTurn((now) => tickEnv(cfg, store, silences, now));
  const deps: LoopEventDeps = {
    store,
    router,
    clock,
    log: ctx.log,
    flushNow: {
      env: async (now) => (cfg.inhibit.length ? undefined : flushView(now)),
      externalURL: () => cfg.externalURL,
      claim: () => deliverer.newClaim(),
    },
  };
  ctx.watchConfig({
    restartOnly: ["notifier.port", "notifier.maxAttempts", "notifier.backoff", "notifier.maxBackoff"],
    apply: (next) => {
      const n = next.notifier;
      // Built first: a channel that cannot be built throws before anything is swapped.
      const nextRouter = new Router(n);
      // Unchanged channels keep their sender (and its connections); changed and new ones are built first.
      const same = new Set(
        n.channels
          .filter((c) => JSON.stringify(c) === JSON.stringify(cfg.channels.find((o) => o.name === c.name)))
          .map((c) => c.name),
      );
      const built = buildChannels(
        n.channels.filter((c) => !same.has(c.name)),
        channelOpts,
      );
      const retired = [...channels].filter(([name]) => !same.has(name)).map(([, c]) => c);
      cfg = n;
      deps.router = nextRouter;
      for (const name of [...channels.keys()]) if (!same.has(name)) channels.delete(name);
      for (const [name, c] of built) channels.set(name, c);
      rateLimits.clear();
      for (const c of n.channels) if (c.rateLimit) rateLimits.set(c.name, c.rateLimit);
      deliveryLog.setChannels(n.channels);
      for (const c of retired) void Promise.resolve(c.close?.()).catch(() => undefined);
      return {
        channels: [...channels.keys()],
        rebuilt: [...built.keys()],
        routes: n.routes.length,
        silences: n.silences.length,
      };
    },
  });
  const ticker = startTicker(
    async () => {
      const now = clock.now();
      const env = await tickEnv(cfg, store, silences, now);
      const flushed = await flushDue(now, { store, router: deps.router, externalURL: cfg.externalURL, env });
      if (cfg.digest)
        await runDigest(cfg.digest, now, { store, bus: ctx.bus, log: ctx.log, externalURL: cfg.externalURL });
      const started = await deliverer.runDue();
      const pending = await store.pendingDeliveries();
      metrics.pending.set(pending);
      // Nothing sent, nothing waiting for a retry: look again in a second, not in 200 ms (news kicks a tick at once).
      return flushed.length > 0 || started > 0 || pending > 0;
    },
    opts.tickMs ?? 200,
    ctx.log,
    opts.idleTickMs ?? opts.tickMs ?? 1_000,
    // Idle, it sleeps until the next due time in Redis (at most 10 s: work of a replica that
    // died), on a clock that runs in real time (a test's injected clock jumps: it polls as before).
    server || opts.maxIdleMs !== undefined
      ? { next: () => store.nextDue(), now: () => clock.now(), maxIdleMs: opts.maxIdleMs ?? 10_000 }
      : undefined,
  );
  // A delivery stored by a loop event's own commit (a group flushed at once) is sent now: claimed
  // by that commit, or else by a claim run here without a whole tick (calls while one runs are
  // folded into one more after it).
  let delivering: Promise<void> | undefined;
  let deliverAgain = false;
  let stopping = false;
  const deliverSoon = (): void => {
    if (stopping) return;
    if (delivering) {
      deliverAgain = true;
      return;
    }
    delivering = deliverer
      .runDue()
      .then(
        () => undefined,
        (err) => ctx.log.warn({ err: (err as Error).message }, "could not claim deliveries; the next tick will"),
      )
      .finally(() => {
        delivering = undefined;
        if (deliverAgain) {
          deliverAgain = false;
          deliverSoon();
        }
      });
  };
  ctx.bus.consume(
    anyLoopEvent,
    "notifier",
    async (data) => {
      // Only news that made a group due now runs a tick at once (an update inside a group that
      // already sent, a loop still in its groupWait: the regular tick has time for them).
      const { dueNow, dueAt, unclaimed, claimed } = await onLoopEvent(data, deps);
      let left = unclaimed;
      for (const { delivery, claim } of claimed) if (!deliverer.startClaimed(delivery, claim)) left++;
      if (left > 0) deliverSoon();
      if (dueNow) ticker.kick();
      else if (dueAt !== undefined) ticker.wakeAt(dueAt);
    },
    { types: LOOP_EVENT_TYPES },
  );
  ctx.log.info({ channels: [...channels.keys()], routes: cfg.routes.length }, "notifier ready");
  return {
    endpoints: [...silenceEndpoints(silences, ctx, clock), endpoint(notifyDeliveries, (req) => deliveryLog.read(req))],
    stop: async () => {
      server?.stop();
      stopping = true;
      await ticker.stop();
      await delivering;
      await deliverer.stop();
      await Promise.allSettled([...channels.values()].map((c) => c.close?.()));
    },
  };
}

/** The notifier as a service spec (main.ts runs it; tests run it in-process with runService). */
export function notifierService(opts: NotifierOptions = {}): ServiceSpec {
  return {
    name: "notifier",
    description: "Routes, groups and delivers loop notifications",
    port: (c) => c.notifier.port,
    start: (ctx) => startNotifier(ctx, opts),
  };
}
