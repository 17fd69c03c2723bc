import { type Bus, type BusManifest, type EndpointHandler, ed25519, type Signer, type Verifier } from "@mirror/bus";
import { hasErrorCode, type MirrorConfig } from "@mirror/contracts";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import type { DestinationStream, Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { type Clock, systemClock } from "./clock.js";
import { ConfigError, configSecrets, loadConfig, redactConfigError } from "./config.js";
import { ConfigPeers, configDigest, configSectionOf, sectionAt, withRunningPaths } from "./config-peers.js";
import { connectBus } from "./connect.js";
import { buildHttp } from "./http.js";
import { requestAuthorized } from "./http-auth.js";
import { HttpTokenError, resolveHttpCredential, UnprotectedListenError } from "./http-token.js";
import { IdentityError, loadServiceIdentity } from "./identity.js";
import { createLogger } from "./logger.js";
import { withPortOffset } from "./port-offset.js";
import { createStore, sentinelTargetOf } from "./store.js";
import { storeLogin } from "./store-auth.js";
import { watchStore } from "./store-metrics.js";
import { inServiceScope, setupTracing, tracingRequested } from "./tracing.js";
import { type ConfigWatch, type ConfigWatchOptions, watchConfig } from "./watch-config.js";

/** Everything a service's start() gets: its wired dependencies. */
export interface ServiceContext {
  name: string;
  config: MirrorConfig;
  log: Logger;
  bus: Bus;
  store: Redis;
  http: FastifyInstance;
  registry: Registry;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  /** Adds a named readiness check to /readyz. */
  addReadyCheck(name: string, check: () => boolean): void;
  /**
   * Hot reload of mirror.yaml (file changes and SIGHUP) for this service: it says only how to
   * apply a new config and which settings need a restart; stopped with the service.
   */
  watchConfig(opts: ConfigWatchOptions): ConfigWatch;
}

/** What start() returns: request/reply endpoints to register and how to stop. */
export interface Started {
  endpoints?: EndpointHandler[];
  metadata?: Record<string, string>;
  /** Services API name when it differs from the identity (model adapters share "mirror-model"). */
  serviceName?: string;
  queue?: string;
  stop?: () => Promise<void>;
}

export interface ServiceSpec {
  /** The identity: connection name, CloudEvents source, key prefix, credential file name. */
  name: string;
  /**
   * Its `src/manifest.ts`: the bus refuses any publish, consume, request or endpoint it does not
   * declare (every service has one; ad hoc specs in tests may go without).
   */
  manifest?: BusManifest;
  /**
   * The bus identity when it is not `name` (a service-tracker at a remote probe site connects as
   * `site-<site>`, with that identity's key and permissions); default `name`.
   */
  identity?: (config: MirrorConfig) => string;
  version?: string;
  description?: string;
  /** Port from config (the section's `port`). */
  port: (config: MirrorConfig) => number;
  start: (ctx: ServiceContext) => Promise<Started | undefined>;
  /**
   * Adds HTTP routes before the server listens (fastify refuses routes afterwards, and the
   * server listens before start() so /healthz answers while the bus connects). Routes that
   * need start()'s state should answer 503 until it is ready.
   */
  routes?: (http: FastifyInstance, config: MirrorConfig, auth: RouteAuth) => void;
}

/** For routes marked `public` that still check the token themselves (the name form of /ping). */
export interface RouteAuth {
  /** Whether the request carries this service's HTTP token. */
  authorized(req: FastifyRequest): boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  config?: MirrorConfig;
  logDest?: DestinationStream;
  clock?: Clock;
  port?: number;
  verifier?: Verifier;
  signer?: Signer;
  /** The HTTP token, in place of http.token and the data folder's file (tests). */
  httpToken?: string;
  /** More of /readyz's body, beside `ok` and `checks` (`pnpm start --single`: the other members' state). */
  readyInfo?: () => Record<string, unknown>;
}

export interface RunningService {
  ctx: ServiceContext;
  port: number;
  stop(): Promise<void>;
  /** Which part of stop() runs now ("running" before, "stopped" after): named when a stop hangs. */
  readonly step: string;
  /** The token state changes over HTTP need (from http.token, the data folder, or made at start). */
  readonly httpToken: string;
}

let threadRegistry: Registry | undefined;

/**
 * The process's default metrics (CPU, memory, handles, event-loop lag, GC), made once per thread
 * and registered in every service registry of it: services run together (`--single`) share one
 * event loop and one heap, so one set describes them all. The event-loop lag histogram samples
 * with a timer: at prom-client's default 10 ms that is 100 wake-ups a second even when nothing
 * happens; 100 ms still catches any stall long enough to matter on the dashboard's p99. One set
 * per service made seven lag monitors and seven GC observers in a --single process (seven
 * monitors started apart cost 0.40% of a core in a bare node against 0.02% for none; in the
 * worker their timers mostly fire in the same wake-up, so the saving there was within the
 * spread). The lag figures cover the time since the previous scrape of any service sharing them.
 */
function threadMetrics(): Registry {
  if (!threadRegistry) {
    threadRegistry = new Registry();
    collectDefaultMetrics({ register: threadRegistry, eventLoopMonitoringPrecision: 100 });
  }
  return threadRegistry;
}

/** stop() finishes within this (each step bounded by what is left), under defineService's hard exit. */
const STOP_BUDGET_MS = 4_300;
const HARD_EXIT_MS = 4_800;
const SLOW_STEP_MS = 1_000;

/** Wires config -> logger -> http -> bus -> store -> start() -> Services API; returns a handle. */
export function runService(spec: ServiceSpec, opts: RunOptions = {}): Promise<RunningService> {
  // With tracing on, everything the service starts runs in its scope, so the spans of services
  // sharing a process each name their own service (tracing.ts, serviceAttribution).
  return tracingRequested(opts.env ?? process.env)
    ? inServiceScope(spec.name, () => startService(spec, opts))
    : startService(spec, opts);
}

async function startService(spec: ServiceSpec, opts: RunOptions): Promise<RunningService> {
  const env = opts.env ?? process.env;
  const config = opts.config ?? loadConfig(env, opts.cwd).config;
  const busName = spec.identity?.(config) ?? spec.name;
  const identity = loadServiceIdentity(busName, config.bus, env);
  const login = storeLogin(spec.name, config, env);
  const tracing = await setupTracing(spec.name, env);
  const log = createLogger(spec.name, opts.logDest, undefined, {
    secrets: [...configSecrets(config), ...(identity.secrets ?? []), ...(login ? [login.password] : [])],
  });
  for (const w of identity.warnings ?? []) log.warn(w);
  const registry = new Registry();
  const shared = threadMetrics();
  for (const { name } of shared.getMetricsAsArray()) {
    const metric = shared.getSingleMetric(name);
    if (metric) registry.registerMetric(metric);
  }
  const host = env.MIRROR_HTTP_HOST || "127.0.0.1";
  const cred = resolveHttpCredential({ configured: opts.httpToken ?? config.http.token, host, env, cwd: opts.cwd });
  if (cred.source === "created")
    log.warn(
      { file: cred.file },
      "no http.token configured: made an HTTP token; state changes over HTTP need Authorization: Bearer <its content>",
    );
  else if (cred.source === "file") log.info({ file: cred.file }, "HTTP token from the data folder");
  const auth = { token: cred.token, tokenForReads: config.http.tokenForReads };
  const checks = new Map<string, () => boolean>();
  const http = buildHttp({
    log,
    registry,
    auth,
    ready: () => Object.fromEntries([...checks].map(([k, f]) => [k, safe(f)])),
    readyInfo: opts.readyInfo,
  });
  let bus: Bus | undefined;
  let store: Redis | undefined;
  checks.set("bus", () => bus?.connected === true);
  checks.set("store", () => store?.status === "ready");
  let started = false;
  checks.set("started", () => started);
  try {
    spec.routes?.(http, config, { authorized: (req) => requestAuthorized(req, cred.token) });
  } catch (err) {
    throw redactConfigError(err, config);
  }
  const port = await listen(http, opts.port ?? withPortOffset(spec.port(config), env), host);
  log.info({ port }, "http listening");
  bus = await connectBus(busName, {
    config,
    env,
    log,
    registry,
    identity,
    signer: opts.signer,
    verifier: opts.verifier,
    manifest: spec.manifest && busName !== spec.name ? { ...spec.manifest, name: busName } : spec.manifest,
    // Another identity than its own is a remote probe site's: the hub made the streams.
    noProvisioning: busName !== spec.name,
  });
  log.info(
    {
      url: redactUrl(config.bus.url),
      identity: identity.publicKey ?? "anonymous",
      verifies: !!identity.verifier,
      ...(identity.signer || identity.verifier ? { ed25519: ed25519().backend } : {}),
    },
    "bus connected",
  );
  store = createStore(config.store.url, spec.name, log, { login, sentinel: sentinelTargetOf(config.store) });
  watchStore(store, registry);
  const watches: ConfigWatch[] = [];
  // The config this process runs, compared with the other replicas' (ConfigPeers).
  const section = configSectionOf(spec);
  const digestOf = (c: MirrorConfig) => configDigest(sectionAt(c, section));
  let running = config;
  let peers: ConfigPeers | undefined;
  const ctx: ServiceContext = {
    name: spec.name,
    config,
    log,
    bus,
    store,
    http,
    registry,
    clock: opts.clock ?? systemClock,
    env,
    addReadyCheck: (name, check) => void checks.set(name, check),
    watchConfig: (o) => {
      const apply: ConfigWatchOptions["apply"] = (next, previous) => {
        const changed = o.apply(next, previous);
        running = withRunningPaths(next, running, o.restartOnly ?? []);
        void peers?.update(digestOf(running));
        return changed;
      };
      const w = watchConfig({ config, env, log, registry }, { ...o, apply });
      watches.push(w);
      return w;
    },
  };
  let result: Started;
  try {
    result = (await spec.start(ctx)) ?? {};
  } catch (err) {
    // A failed start must not leave connections that keep the process (or a test) alive.
    for (const w of watches) w.stop();
    await bus.close(1_000).catch(() => undefined);
    store.disconnect();
    await http.close().catch(() => undefined);
    throw redactConfigError(err, config);
  }
  peers = new ConfigPeers({ store, log, registry, service: spec.name, section, port }, digestOf(running));
  void peers.start();
  await bus.service({
    name: result.serviceName ?? spec.name,
    version: spec.version ?? "0.1.0",
    description: spec.description,
    metadata: { identity: busName, port: String(port), ...result.metadata },
    queue: result.queue,
    endpoints: result.endpoints,
  });
  started = true;
  log.info("service started");
  let stopping: Promise<void> | undefined;
  let step = "running";
  const stop = () => {
    stopping ??= (async () => {
      started = false;
      // No reload may swap config under the stop.
      for (const w of watches) w.stop();
      const deadline = performance.now() + STOP_BUDGET_MS;
      // Each step is bounded by what is left of the budget, so one that hangs cannot keep the
      // later ones (the store, the HTTP server) from closing before the hard exit; a slow or
      // cut-short step is logged by name, so a stop that went wrong says where.
      const run = async (name: string, capMs: number, f: () => Promise<unknown>) => {
        step = name;
        const ms = Math.max(50, Math.min(capMs, deadline - performance.now()));
        const t0 = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          // Through a then(): a step that throws before returning its promise fails like one that rejects.
          Promise.resolve()
            .then(f)
            .then(
              () => "done" as const,
              (err) => {
                log.warn({ err, step: name }, "stop step failed");
                return "failed" as const;
              },
            ),
          new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms))),
        ]);
        clearTimeout(timer);
        const took = Math.round(performance.now() - t0);
        if (outcome === "timeout") log.warn({ step: name, ms: took }, "stop step did not finish in time; going on");
        else if (took > SLOW_STEP_MS) log.warn({ step: name, ms: took }, "stop step was slow");
      };
      // Consuming stops first and the connection closes only after the service's own stop, so
      // the work that stop lets finish (a delivery in flight, a triage answer) can still publish.
      await run("consumers", 2_500, () => (bus ? bus.stopConsuming() : Promise.resolve()));
      if (result.stop) await run("service", 2_000, result.stop);
      await run("config peers", 300, () => peers?.stop() ?? Promise.resolve());
      await run("bus", 1_500, () => (bus ? bus.close(1_000) : Promise.resolve()));
      await run("store", 500, async () => store?.quit().catch(() => store?.disconnect()));
      if (store && store.status !== "end") store.disconnect();
      await run("http", 500, () => http.close());
      if (tracing) await run("tracing", 1_000, () => tracing.stop());
      step = "stopped";
      log.info("service stopped");
    })();
    return stopping;
  };
  return {
    ctx,
    port,
    stop,
    httpToken: cred.token,
    get step() {
      return step;
    },
  };
}

/** Binds `host` (MIRROR_HTTP_HOST, default 127.0.0.1: nothing beyond this machine unless asked). */
async function listen(app: FastifyInstance, port: number, host: string): Promise<number> {
  await app.listen({ port, host });
  const addr = app.server.address();
  return typeof addr === "object" && addr ? addr.port : port;
}

function safe(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//[redacted]@");
}

/** Where defineService() hands its spec when a process runs several services (see collectSpecs). */
const COLLECTOR = Symbol.for("mirror.kit.collectSpecs");
type Collecting = { [COLLECTOR]?: ServiceSpec[] };

/**
 * Evaluates a service's main.ts (`load` imports it) without running it: defineService() there
 * hands over its spec instead of starting a service and owning the process. What
 * `pnpm start --single` uses to run every service in one process.
 */
export async function collectSpecs(load: () => Promise<unknown>): Promise<ServiceSpec[]> {
  const g = globalThis as Collecting;
  const specs: ServiceSpec[] = [];
  const previous = g[COLLECTOR];
  g[COLLECTOR] = specs;
  try {
    await load();
  } finally {
    g[COLLECTOR] = previous;
  }
  return specs;
}

/** Errors a restart cannot fix: the config, the identity, the HTTP token (exit 2 in a process of its own). */
export function isConfigFailure(err: unknown): boolean {
  return (
    err instanceof ConfigError ||
    err instanceof IdentityError ||
    err instanceof HttpTokenError ||
    err instanceof UnprotectedListenError
  );
}

/**
 * The entry point of a service's main.ts: runs it, exits 2 on a config error,
 * and on SIGTERM/SIGINT stops consuming, finishes in-flight work, drains and exits 0 within 5 s.
 * While collectSpecs() loads the module, it only hands over the spec (no process side effects).
 */
export function defineService(spec: ServiceSpec): void {
  const collecting = (globalThis as Collecting)[COLLECTOR];
  if (collecting) {
    collecting.push(spec);
    return;
  }
  runAlone(spec);
}

/** One service owning its process: its signal handlers, its exit codes. */
function runAlone(spec: ServiceSpec): void {
  let running: RunningService | undefined;
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const hard = setTimeout(() => {
      running?.ctx.log.error({ step: running.step }, `not stopped after ${HARD_EXIT_MS} ms; exiting`);
      process.exit(0);
    }, HARD_EXIT_MS);
    hard.unref();
    if (!running) process.exit(0);
    running.ctx.log.info({ signal }, "shutting down");
    void running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  runService(spec)
    .then((r) => {
      running = r;
      if (shuttingDown) void r.stop().then(() => process.exit(0));
    })
    .catch((err) => {
      if (isConfigFailure(err)) {
        process.stderr.write(`${spec.name}: ${err.message}\n`);
        process.exit(2);
      }
      if (hasErrorCode(err, "MIRROR_ERR_AUTH")) {
        process.stderr.write(`${spec.name}: ${(err as Error).message}\n`);
        process.exit(1);
      }
      process.stderr.write(`${spec.name}: failed to start: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    });
}
