import { realpathSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { endpoint } from "@mirror/bus";
import { type ScannerConfig, scanNow, scanRepos } from "@mirror/contracts";
import { type Partition, pauseWhenBusStalls, type ServiceContext, type Started } from "@mirror/kit";
import type { Logger } from "pino";
import { fetchRepos } from "./fetch.js";
import { joinReplicas } from "./replicas.js";
import { closeGitHelpers } from "./git.js";
import { ScannerMetrics } from "./metrics.js";
import { Scanner } from "./scanner.js";
import { resolveTarget } from "./target.js";
import { RepoWatcher } from "./watch.js";

/** Runs `work` now and then every `everyMs` after it finished, until stopped. */
function every(everyMs: number, work: () => Promise<void>): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    const started = Date.now();
    await work();
    if (!stopped) timer = setTimeout(loop, Math.max(0, everyMs - (Date.now() - started)));
  };
  timer = setTimeout(loop, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Real paths of the roots that opted into `git fetch`. */
function fetchRoots(config: ScannerConfig): Set<string> {
  const out = new Set<string>();
  for (const r of config.roots) {
    if (!r.fetch) continue;
    try {
      out.add(realpathSync(resolve(r.path)));
    } catch {
      // A missing root is reported by discovery.
    }
  }
  return out;
}

function startFetching(
  scanner: Scanner,
  config: ScannerConfig,
  metrics: ScannerMetrics,
  log: Logger,
): (() => void) | undefined {
  if (!config.roots.some((r) => r.fetch)) return undefined;
  return every(config.fetchInterval, async () => {
    const roots = fetchRoots(config);
    const repos = scanner.mine(scanner.repos).filter((r) => roots.has(r.root));
    const concurrency = Math.min(4, config.concurrency ?? availableParallelism());
    const fetched = await fetchRepos(repos, {
      log,
      metrics,
      timeoutMs: Math.max(config.gitTimeout, 120_000),
      concurrency,
      trustedOwners: config.trustedOwners,
      configCache: scanner.configs,
    });
    if (fetched > 0) await scanner.scanSome(repos).catch((err) => log.error({ err }, "scan after fetch failed"));
  });
}

/** Starts the scanner: a scan every `scanner.interval`, optional watch and fetch, and the `scan.now` endpoint. */
export async function startScanner(ctx: ServiceContext): Promise<Started & { scanner: Scanner; partition: Partition }> {
  const config = ctx.config.scanner;
  const log = ctx.log;
  const metrics = new ScannerMetrics(ctx.registry);
  const scanner = new Scanner({ bus: ctx.bus, store: ctx.store, log, clock: ctx.clock, metrics, config });
  await scanner.load();
  const share = await joinReplicas({
    store: ctx.store,
    log,
    interval: config.interval,
    pause: pauseWhenBusStalls(ctx.bus),
    // Snapshots published while the bus stalled may be lost (docs/SCALE-OUT.md, "A minority NATS
    // node"): every owned repo is read and published again (whole state, new ids, idempotent).
    onResume: () =>
      void scanner
        .scanAll({ force: true })
        .then((s) => log.info({ published: s.published }, "bus stall over: snapshots published again"))
        .catch((err) => log.error({ err }, "scan after the bus stall failed")),
  });
  scanner.owns = (key) => share.owns(key);
  if (config.roots.length === 0) log.warn("scanner.roots is empty: nothing to scan");
  const watcher = config.watch
    ? new RepoWatcher({
        log,
        metrics,
        onChange: (repo) =>
          void scanner.scanSome(scanner.mine([repo])).catch((err) => log.error({ err }, "watch scan failed")),
      })
    : undefined;
  let lastScanAt: string | null = null;
  const stopScanning = every(config.interval, async () => {
    try {
      const s = await scanner.scanAll();
      lastScanAt = new Date(ctx.clock.now()).toISOString();
      log.debug(s, "scan done");
      watcher?.sync(scanner.mine(scanner.repos));
    } catch (err) {
      log.error({ err }, "scan failed");
    }
  });
  const stopFetching = startFetching(scanner, config, metrics, log);
  const onScanNow = endpoint(scanNow, async (req) => {
    if (!req.path) return scanner.scanAll({ force: true, all: true });
    const repo = await resolveTarget(
      req.path,
      scanner.config.roots.map((r) => r.path),
    );
    return scanner.scanSome([repo], { force: true });
  });
  const onScanRepos = endpoint(scanRepos, async () => ({
    repos: scanner.repos.map((r) => ({ path: r.path, kind: r.kind })),
    roots: scanner.config.roots.length,
    lastScanAt,
  }));
  ctx.watchConfig({
    restartOnly: [
      "scanner.port",
      "scanner.interval",
      "scanner.watch",
      "scanner.fetchInterval",
      "scanner.concurrency",
      "scanner.resync",
      "scanner.resyncEvery",
    ],
    apply: (next) => {
      const before = scanner.config.roots.map((r) => r.path);
      scanner.configure(next.scanner);
      // New roots are walked now, not at the next interval.
      void scanner.scanAll().catch((err) => log.error({ err }, "scan after a reload failed"));
      const after = next.scanner.roots.map((r) => r.path);
      return {
        rootsAdded: after.filter((r) => !before.includes(r)),
        rootsRemoved: before.filter((r) => !after.includes(r)),
      };
    },
  });
  return {
    scanner,
    partition: share,
    endpoints: [onScanNow, onScanRepos],
    metadata: { roots: String(config.roots.length), watch: String(config.watch) },
    stop: async () => {
      stopScanning();
      stopFetching?.();
      await share.stop();
      watcher?.close();
      closeGitHelpers();
    },
  };
}
