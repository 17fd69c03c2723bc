import { anyLoopEvent, LOOP_EVENT_TYPES, type NotifierConfig } from "@mirror/contracts";
import type { ServiceContext, ServiceSpec, Started } from "@mirror/kit";
import { buildChannels } from "./channels/index.js";
import { Deliverer } from "./deliverer.js";
import { type FlushDeps, flushDue } from "./flusher.js";
import type { FlushEnv } from "./group.js";
import { onLoopEvent } from "./handlers/on-loop-event.js";
import { NotifyMetrics } from "./metrics.js";
import { quietEndsAt } from "./quiet-hours.js";
import { Router, type Target } from "./routing.js";
import { inhibitTest, silenceTest } from "./silences.js";
import { NotifierStore } from "./store.js";
import { startTicker } from "./ticker.js";

export interface NotifierOptions {
  /** How often due groups and deliveries are looked at (real time). */
  tickMs?: number;
  /** Jitter source for backoff (tests make it deterministic). */
  random?: () => number;
}

/** The flush environment of one tick: silences, inhibition and quiet hours as they are at `now`. */
async function tickEnv(cfg: NotifierConfig, store: NotifierStore, now: number): Promise<FlushDeps["env"]> {
  const silenced = silenceTest(cfg.silences, now);
  const inhibited = inhibitTest(cfg.inhibit, cfg.inhibit.length ? await store.activeLabels() : []);
  return (target: Target): FlushEnv => {
    const ends = target.quietHours ? quietEndsAt(target.quietHours, now) : null;
    return { silenced, inhibited, quiet: ends !== null && target.quietHours ? { endsAt: ends, except: target.quietHours.except } : null };
  };
}

/** Wires the notifier into a running service context. */
export async function startNotifier(ctx: ServiceContext, opts: NotifierOptions = {}): Promise<Started> {
  const cfg = ctx.config.notifier;
  const store = new NotifierStore(ctx.store);
  const router = new Router(cfg);
  const channels = buildChannels(cfg.channels);
  const metrics = new NotifyMetrics(ctx.registry);
  const deliverer = new Deliverer({
    store, channels, bus: ctx.bus, clock: ctx.clock, log: ctx.log, metrics,
    maxAttempts: cfg.maxAttempts, backoffMs: cfg.backoff, maxBackoffMs: cfg.maxBackoff, random: opts.random,
    rateLimits: new Map(cfg.channels.filter((c) => c.rateLimit).map((c) => [c.name, { max: c.rateLimit!.max, per: c.rateLimit!.per }])),
  });
  const deps = { store, router, clock: ctx.clock, log: ctx.log };
  const ticker = startTicker(async () => {
    const now = ctx.clock.now();
    const env = await tickEnv(cfg, store, now);
    await flushDue(now, { store, router, externalURL: cfg.externalURL, env });
    await deliverer.runDue();
    metrics.pending.set(await store.pendingDeliveries());
  }, opts.tickMs ?? 200, ctx.log);
  ctx.bus.consume(anyLoopEvent, "notifier", async (data) => {
    await onLoopEvent(data, deps);
    ticker.kick();
  }, { types: LOOP_EVENT_TYPES });
  ctx.log.info({ channels: [...channels.keys()], routes: cfg.routes.length }, "notifier ready");
  return {
    stop: async () => {
      await ticker.stop();
      await deliverer.idle();
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
