import { endpoint } from "@mirror/bus";
import { type CheckSummary, checkKind, checksList, hubSite, siteIdentity, type TrackerConfig } from "@mirror/contracts";
import {
  type ConfigWatch,
  ConfigError,
  pauseWhenBusStalls,
  type ServiceContext,
  type ServiceSpec,
  type Started,
} from "@mirror/kit";
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
import {
  checksAtSite,
  joinReplicas,
  MESH_ITEM,
  shortestInterval,
  sitePartition,
  type TrackerShare,
} from "./replicas.js";
import { Scheduler } from "./scheduler.js";
import { StatusBook } from "./tracker.js";

/** The running tracker: what tests poke at besides the bus and HTTP. */
export interface RunningTracker extends Started {
  book: StatusBook;
  scheduler: Scheduler;
  heartbeats: HeartbeatMonitor;
  pingKeys: PingKeys;
  mesh: MeshDiscovery | null;
  /** Each configured check's kind, by name (follows config reloads). */
  kinds: Map<string, string>;
  /** The live config: mirror.yaml and SIGHUP when the service was started from that file; tests may call reload() on it. */
  reloader: ConfigWatch;
}

/** The service-tracker's spec: defineService() runs it from main.ts, tests through runService(). */
export function trackerSpec(onStarted?: (t: RunningTracker) => void): ServiceSpec {
  let target: PingTarget | undefined;
  return {
    name: "service-tracker",
    description:
      "Tracks HTTP, TCP, DNS, TLS, Redis, Postgres, Docker, ICMP and domain checks, job heartbeats and the mesh's own services",
    port: (c) => c.tracker.port,
    // At a remote probe site the tracker is that site's identity: it may publish only statuses.
    identity: (c) => (c.tracker.site === hubSite(c.tracker) ? "service-tracker" : siteIdentity(c.tracker.site)),
    routes: (http, config, auth) => {
      // Validate before the bus connects, so a bad condition exits 2 even with no NATS around.
      compileAll(config.tracker, configLabel(process.env));
      pingRoutes(http, () => target, auth);
    },
    start: async (ctx) => {
      const t = await startTracker(ctx);
      target = {
        monitor: t.heartbeats,
        keys: t.pingKeys,
        clock: ctx.clock,
        bus: ctx.bus,
        kindOf: (n) => t.kinds.get(n),
      };
      onStarted?.(t);
      return t;
    },
  };
}

function configLabel(env: NodeJS.ProcessEnv): string {
  return env.MIRROR_CONFIG ?? "mirror.yaml";
}

/** Every check compiled, or a ConfigError naming each bad check, key and expression. */
export function compileAll(
  cfg: TrackerConfig,
  file: string,
): { checks: CompiledCheck[]; heartbeats: { spec: HeartbeatSpec; dependsOn: string[] }[] } {
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
  const all = compileAll(cfg, configLabel(ctx.env));
  // A tracker runs its site's checks; job heartbeats and the mesh round are judged at the hub site.
  const atHub = cfg.site === hubSite(cfg);
  const checks = checksAtSite(all.checks, cfg);
  const heartbeats = atHub ? all.heartbeats : [];
  const metrics = new TrackerMetrics(ctx.registry);
  const publisher = new StatusPublisher(ctx.bus, ctx.log, (_s, outcome) => metrics.published.inc({ outcome }));
  const book = new StatusBook({
    clock: ctx.clock,
    log: ctx.log,
    metrics,
    publisher,
    resyncEvery: cfg.resyncEvery,
    store: ctx.store,
    site: cfg.site,
  });
  await book.restore();
  const scheduler = new Scheduler(ctx.clock, {
    concurrency: cfg.concurrency,
    onError: (id, err) => ctx.log.error({ err, job: id }, "scheduled job failed"),
    onLag: (ms) => metrics.lag.observe(ms / 1000),
  });
  const now = () => ctx.clock.now();
  const http = new HttpProber({ maxBody: cfg.maxBody, now });
  const share = await joinReplicas({
    store: ctx.store,
    log: ctx.log,
    clock: ctx.clock,
    pause: pauseWhenBusStalls(ctx.bus),
    // Statuses published while the bus stalled may be lost: each owned one goes out again (whole state, idempotent).
    onResume: () => {
      const n = book.publishAgain((t) => share.owns(t.kind === "mesh" ? MESH_ITEM : t.name));
      ctx.log.info({ statuses: n }, "bus stall over: statuses published again");
    },
    shortestInterval: shortestInterval(cfg),
    group: sitePartition(cfg.site),
  });
  const active = scheduleActiveChecks(checks, {
    scheduler,
    book,
    prober: { http, rdap: new RdapClient({ now }), now },
    metrics,
    clock: ctx.clock,
    tracker: cfg,
    share,
  });
  const monitor = new HeartbeatMonitor({
    clock: ctx.clock,
    log: ctx.log,
    store: ctx.store,
    scheduler,
    book,
    metrics,
    resyncEvery: cfg.resyncEvery,
    share: { owns: share.owns, recheckEvery: share.partition.ttl },
  });
  await monitor.add(heartbeats);
  const pingKeys = new PingKeys();
  await pingKeys.load(
    ctx.store,
    heartbeats.map((h) => h.spec.name),
  );
  if (atHub) consumeHeartbeats(ctx.bus, monitor);
  const mesh = cfg.mesh.enabled && atHub ? await startMesh(ctx, { scheduler, book, metrics, share }) : null;
  const kinds = new Map(cfg.checks.map((c) => [c.name, checkKind(c)]));
  const beats = new Map(heartbeats.map((h) => [h.spec.name, JSON.stringify(h)]));
  const file = configLabel(ctx.env);
  const reloader = ctx.watchConfig({
    restartOnly: RESTART_ONLY,
    validate: (next) => void compileAll(next.tracker, file),
    apply: (next) => {
      const compiled = compileAll(next.tracker, file);
      const changed = active.apply(checksAtSite(compiled.checks, next.tracker));
      const hb = applyHeartbeats(atHub ? compiled.heartbeats : [], beats, monitor);
      // New heartbeats get their ping key; the store may be away (they get one at the next start then).
      if (hb.added.length)
        pingKeys
          .load(ctx.store, hb.added)
          .catch((err: Error) => ctx.log.warn({ err: err.message }, "ping keys of new heartbeats not loaded"));
      kinds.clear();
      for (const c of next.tracker.checks) kinds.set(c.name, checkKind(c));
      return {
        added: [...changed.added, ...hb.added],
        changed: [...changed.changed, ...hb.changed],
        removed: [...changed.removed, ...hb.removed],
      };
    },
  });
  ctx.log.info(
    { checks: checks.length, heartbeats: heartbeats.length, mesh: !!mesh, site: cfg.site, hub: atHub },
    "tracking",
  );
  return {
    book,
    scheduler,
    heartbeats: monitor,
    pingKeys,
    mesh,
    kinds,
    reloader,
    metadata: { checks: String(checks.length), site: cfg.site },
    // The hub site's trackers answer for the mesh's checks; a remote site's only publish statuses.
    endpoints: atHub ? [endpoint(checksList, async () => ({ checks: listChecks(book, pingKeys) }))] : [],
    stop: async () => {
      scheduler.stop();
      await share.stop();
      await publisher.close();
      await http.close();
    },
  };
}

/** Tracker settings read once at start: a reload names a change to them as needing a restart. */
const RESTART_ONLY = [
  "tracker.port",
  "tracker.site",
  "tracker.concurrency",
  "tracker.mesh",
  "tracker.discoverEvery",
  "tracker.resyncEvery",
  "tracker.maxBody",
  "tracker.coalesce",
  "tracker.failureThreshold",
  "tracker.successThreshold",
];

/** Heartbeat checks added, changed and removed by a reload, applied to the monitor. */
function applyHeartbeats(
  next: { spec: HeartbeatSpec; dependsOn: string[] }[],
  current: Map<string, string>,
  monitor: HeartbeatMonitor,
) {
  const out = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
  const wanted = new Map(next.map((h) => [h.spec.name, h]));
  for (const name of [...current.keys()]) {
    if (wanted.has(name)) continue;
    monitor.remove(name);
    current.delete(name);
    out.removed.push(name);
  }
  const start: typeof next = [];
  for (const [name, h] of wanted) {
    const fingerprint = JSON.stringify(h);
    const before = current.get(name);
    if (before === fingerprint) continue;
    (before === undefined ? out.added : out.changed).push(name);
    current.set(name, fingerprint);
    start.push(h);
  }
  monitor.add(start).catch(() => undefined);
  return out;
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
      reason:
        t.state === "up"
          ? null
          : (t.lastBad?.reason ??
              t.lastBad?.failedConditions.map((f) => `${f.condition} (got ${f.actual})`).join("; ") ??
              null) ||
            null,
      latencyMs: t.last?.latencyMs ?? null,
      ...(t.last ? { checkedAt: new Date(t.observedAt).toISOString() } : {}),
      lastError: t.lastBad
        ? (t.lastBad.reason ??
          (t.lastBad.failedConditions.map((f) => `${f.condition} (got ${f.actual})`).join("; ") || null))
        : null,
      ...(t.kind === "heartbeat" && keys.keyOf(t.name) ? { pingKey: keys.keyOf(t.name) } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function startMesh(
  ctx: ServiceContext,
  deps: { scheduler: Scheduler; book: StatusBook; metrics: TrackerMetrics; share: TrackerShare },
): Promise<MeshDiscovery> {
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
    if (deps.share.owns(MESH_ITEM)) await mesh.round();
    return ctx.clock.now() + cfg.discoverEvery;
  });
  return mesh;
}
