import { endpoint } from "@mirror/bus";
import { type CheckSummary, checkKind, checksList, type TrackerConfig } from "@mirror/contracts";
import { ConfigError, type ServiceContext, type ServiceSpec, type Started } from "@mirror/kit";
import { type CompiledCheck, compileChecks, scheduleActiveChecks } from "./active.js";
import { compileHeartbeat, type HeartbeatSpec } from "./heartbeat/expect.js";
import { consumeHeartbeats, type PingTarget, pingRoutes } from "./heartbeat/ingest.js";
import { HeartbeatMonitor } from "./heartbeat/monitor.js";
import { PingKeys } from "./heartbeat/ping-keys.js";
import { MeshDiscovery } from "./mesh/discovery.js";
import { TrackerMetrics } from "./metrics.js";
import { RdapClient } from "./probes/domain.js";
import { HttpProber } from "./probes/http.js";
import { StatusPublisher } from "./publisher.js";
import { Scheduler } from "./scheduler.js";
import { StatusBook } from "./tracker.js";

/** The running tracker: what tests poke at besides the bus and HTTP. */
export interface RunningTracker extends Started {
  book: StatusBook;
  scheduler: Scheduler;
  heartbeats: HeartbeatMonitor;
  pingKeys: PingKeys;
  mesh: MeshDiscovery | null;
}

/** The service-tracker's spec: defineService() runs it from main.ts, tests through runService(). */
export function trackerSpec(onStarted?: (t: RunningTracker) => void): ServiceSpec {
  let target: PingTarget | undefined;
  return {
    name: "service-tracker",
    description: "Tracks HTTP, TCP, DNS, TLS, Redis, Postgres, Docker, ICMP and domain checks, job heartbeats and the mesh's own services",
    port: (c) => c.tracker.port,
    routes: (http, config, auth) => {
      // Validate before the bus connects, so a bad condition exits 2 even with no NATS around.
      compileAll(config.tracker, configLabel(process.env));
      pingRoutes(http, () => target, auth);
    },
    start: async (ctx) => {
      const t = await startTracker(ctx);
      const kinds = new Map(ctx.config.tracker.checks.map((c) => [c.name, checkKind(c)]));
      target = { monitor: t.heartbeats, keys: t.pingKeys, clock: ctx.clock, bus: ctx.bus, kindOf: (n) => kinds.get(n) };
      onStarted?.(t);
      return t;
    },
  };
}

function configLabel(env: NodeJS.ProcessEnv): string {
  return env.MIRROR_CONFIG ?? "mirror.yaml";
}

/** Every check compiled, or a ConfigError naming each bad check, key and expression. */
export function compileAll(cfg: TrackerConfig, file: string): { checks: CompiledCheck[]; heartbeats: { spec: HeartbeatSpec; dependsOn: string[] }[] } {
  const { checks, problems } = compileChecks(cfg);
  const heartbeats: { spec: HeartbeatSpec; dependsOn: string[] }[] = [];
  cfg.checks.forEach((c, i) => {
    if (!c.heartbeat) return;
    try {
      heartbeats.push({ spec: compileHeartbeat(c.name, c.heartbeat), dependsOn: c.dependsOn });
    } catch (err) {
      problems.push(`tracker.checks.${i}.heartbeat: check "${c.name}": ${(err as Error).message}`);
    }
  });
  if (problems.length) throw new ConfigError(file, problems);
  return { checks, heartbeats };
}

/** Wires the tracker: parse checks, schedule probes and deadlines, discover the mesh, publish. */
export async function startTracker(ctx: ServiceContext): Promise<RunningTracker> {
  const cfg = ctx.config.tracker;
  const { checks, heartbeats } = compileAll(cfg, configLabel(ctx.env));
  const metrics = new TrackerMetrics(ctx.registry);
  const publisher = new StatusPublisher(ctx.bus, ctx.log, (_s, outcome) => metrics.published.inc({ outcome }));
  const book = new StatusBook({ clock: ctx.clock, log: ctx.log, metrics, publisher, resyncEvery: cfg.resyncEvery, store: ctx.store });
  await book.restore();
  const scheduler = new Scheduler(ctx.clock, {
    concurrency: cfg.concurrency,
    onError: (id, err) => ctx.log.error({ err, job: id }, "scheduled job failed"),
    onLag: (ms) => metrics.lag.observe(ms / 1000),
  });
  const now = () => ctx.clock.now();
  const http = new HttpProber({ maxBody: cfg.maxBody, now });
  scheduleActiveChecks(checks, { scheduler, book, prober: { http, rdap: new RdapClient({ now }), now }, metrics, clock: ctx.clock, tracker: cfg });
  const monitor = new HeartbeatMonitor({ clock: ctx.clock, log: ctx.log, store: ctx.store, scheduler, book, metrics, resyncEvery: cfg.resyncEvery });
  await monitor.add(heartbeats);
  const pingKeys = new PingKeys();
  await pingKeys.load(ctx.store, heartbeats.map((h) => h.spec.name));
  consumeHeartbeats(ctx.bus, monitor);
  const mesh = cfg.mesh.enabled ? await startMesh(ctx, { scheduler, book, metrics }) : null;
  ctx.log.info({ checks: checks.length, heartbeats: heartbeats.length, mesh: cfg.mesh.enabled }, "tracking");
  return {
    book,
    scheduler,
    heartbeats: monitor,
    pingKeys,
    mesh,
    metadata: { checks: String(cfg.checks.length) },
    endpoints: [endpoint(checksList, async () => ({ checks: listChecks(book, pingKeys) }))],
    stop: async () => {
      scheduler.stop();
      await publisher.close();
      await http.close();
    },
  };
}

/** Every tracked entity with its state, heartbeats with their ping key, by name. */
export function listChecks(book: StatusBook, keys: PingKeys): CheckSummary[] {
  return book
    .all()
    .map((t) => ({
      name: t.name,
      kind: t.kind,
      state: t.state,
      since: new Date(t.since).toISOString(),
      reason: t.state === "up" ? null : (t.lastBad?.reason ?? t.lastBad?.failedConditions.map((f) => `${f.condition} (got ${f.actual})`).join("; ") ?? null) || null,
      latencyMs: t.last?.latencyMs ?? null,
      ...(t.last ? { checkedAt: new Date(t.observedAt).toISOString() } : {}),
      lastError: t.lastBad ? (t.lastBad.reason ?? (t.lastBad.failedConditions.map((f) => `${f.condition} (got ${f.actual})`).join("; ") || null)) : null,
      ...(t.kind === "heartbeat" && keys.keyOf(t.name) ? { pingKey: keys.keyOf(t.name) } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function startMesh(ctx: ServiceContext, deps: { scheduler: Scheduler; book: StatusBook; metrics: TrackerMetrics }): Promise<MeshDiscovery> {
  const cfg = ctx.config.tracker;
  const mesh = new MeshDiscovery({
    gather: (subjects, windowMs, onReply) => ctx.bus.gather(subjects, windowMs, onReply),
    connected: () => ctx.bus.connected,
    selfName: ctx.name,
    clock: ctx.clock,
    log: ctx.log,
    store: ctx.store,
    book: deps.book,
    metrics: deps.metrics,
    window: cfg.mesh.replyWindow || Math.min(2_000, Math.max(50, cfg.discoverEvery / 2)),
    missedRounds: cfg.mesh.missedRounds,
    forgetAfter: cfg.mesh.forgetAfter,
    reserved: new Set(cfg.checks.map((c) => c.name)),
  });
  await mesh.load();
  // The first round waits a little: the tracker registers with the Services API after start().
  const first = ctx.clock.now() + Math.min(1_000, cfg.discoverEvery);
  deps.scheduler.add("mesh", first, async () => {
    await mesh.round();
    return ctx.clock.now() + cfg.discoverEvery;
  });
  return mesh;
}
