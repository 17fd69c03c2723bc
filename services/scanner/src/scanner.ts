import { availableParallelism } from "node:os";
import type { Bus } from "@mirror/bus";
import { repoGone, repoKey, repoSnapshot, type ScannerConfig } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { type Discovery, type DiscoveryProblem, discover, type FoundRepo } from "./discover.js";
import type { ErrorReason, ScannerMetrics } from "./metrics.js";
import { mapPool } from "./pool.js";
import { bodyHash, goneId, type KnownRepo, nextSeq, shouldPublish, snapshotId } from "./publish-policy.js";
import { readRepo, type SnapshotBody } from "./snapshot.js";

export interface ScannerDeps {
  bus: Bus;
  store: Redis;
  log: Logger;
  clock: Clock;
  metrics: ScannerMetrics;
  config: ScannerConfig;
}

/** What one scan did; the reply of `scan.now`. */
export interface ScanSummary {
  repos: number;
  published: number;
  gone: number;
  errors: number;
  durationMs: number;
}

/** Redis hash of the repos seen (repoKey -> {path, seq}), so a repo removed while we were down still gets `repo.gone`. */
const KNOWN_KEY = "known";

/** Finds repos, reads them and publishes what changed. Scans run one at a time. */
export class Scanner {
  private readonly known = new Map<string, KnownRepo>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly deps: ScannerDeps) {
    this.log = deps.log.child({ component: "scanner" });
  }

  get resyncMs(): number {
    return this.deps.config.resyncEvery ?? this.deps.config.resync;
  }

  get concurrency(): number {
    return this.deps.config.concurrency ?? availableParallelism();
  }

  /** Loads the repos a previous run knew about (best effort: Redis down means no gone events for them). */
  async load(): Promise<void> {
    try {
      const all = await this.deps.store.hgetall(KNOWN_KEY);
      for (const [key, json] of Object.entries(all)) {
        const v = JSON.parse(json) as { path: string; seq: number };
        if (!this.known.has(key)) this.known.set(key, { key, path: v.path, seq: v.seq, publishedAt: 0 });
      }
    } catch (err) {
      this.log.warn({ err }, "could not load known repos; repos removed while stopped will not be reported gone");
    }
  }

  /** Runs `job` after every scan queued before it. */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(job, job);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Scans every root. `force` publishes every snapshot even if unchanged. */
  scanAll(opts: { force?: boolean } = {}): Promise<ScanSummary> {
    return this.serial(async () => {
      const started = performance.now();
      const end = this.deps.metrics.scanDuration.startTimer();
      const found = await discover(this.deps.config.roots.map((r) => r.path), { maxDepth: this.deps.config.maxDepth, exclude: this.deps.config.exclude });
      this.reportProblems(found.problems);
      const results = await mapPool(found.repos, this.concurrency, (repo) => this.scanRepo(repo, opts.force === true));
      const gone = await this.publishGone(found);
      end();
      this.deps.metrics.repos.set(found.repos.length);
      return summary(found.repos.length, results, gone, found.problems.length, performance.now() - started);
    });
  }

  /** Scans one repo (already checked to be inside the roots) and always publishes it. */
  scanOne(repo: FoundRepo): Promise<ScanSummary> {
    return this.serial(async () => {
      const started = performance.now();
      const r = await this.scanRepo(repo, true);
      return summary(1, [r], 0, 0, performance.now() - started);
    });
  }

  private reportProblems(problems: DiscoveryProblem[]): void {
    for (const p of problems) {
      this.deps.metrics.errors.inc({ reason: p.reason });
      this.log.warn({ path: p.path, reason: p.reason }, p.message);
    }
  }

  private countError(reason: ErrorReason): void {
    this.deps.metrics.errors.inc({ reason });
  }

  /** Reads one repo and publishes its snapshot if it changed or is due. Never throws. */
  private async scanRepo(repo: FoundRepo, force: boolean): Promise<{ published: boolean; error: boolean }> {
    const key = repoKey(repo.path);
    const body = await readRepo(repo, { maxUntracked: this.deps.config.maxUntracked, timeoutMs: this.deps.config.gitTimeout });
    this.deps.metrics.repoScans.inc({ mode: "git" });
    if (body.error) {
      this.countError("git");
      this.log.warn({ path: repo.path, error: body.error }, "repo could not be fully read");
    }
    if (body.untrackedCapped) this.countError("untracked_capped");
    const published = await this.publishSnapshot(key, body, force);
    return { published, error: body.error !== null };
  }

  private async publishSnapshot(key: string, body: SnapshotBody, force: boolean): Promise<boolean> {
    const now = this.deps.clock.now();
    const prev = this.known.get(key);
    const hash = bodyHash(body);
    if (!shouldPublish(prev, hash, now, this.resyncMs, force)) return false;
    const seq = nextSeq(prev?.seq ?? 0, now);
    try {
      await this.deps.bus.publish(repoSnapshot, key, { ...body, seq, observedAt: new Date(now).toISOString() }, { id: snapshotId(key, seq) });
    } catch (err) {
      this.countError("publish");
      this.log.error({ err, path: body.path }, "snapshot not published; will retry at the next scan");
      return false;
    }
    this.deps.metrics.published.inc({ event: "snapshot" });
    this.known.set(key, { key, path: body.path, hash, seq, publishedAt: now, body });
    if (!prev || prev.hash === undefined) await this.remember(key, body.path, seq);
    return true;
  }

  private async remember(key: string, path: string, seq: number): Promise<void> {
    await this.deps.store.hset(KNOWN_KEY, key, JSON.stringify({ path, seq })).catch((err) => this.log.warn({ err }, "could not store known repo"));
  }

  /** Publishes `repo.gone` for known repos not found now, unless a problem hid the folder they are in. */
  private async publishGone(found: Discovery): Promise<number> {
    const present = new Set(found.repos.map((r) => repoKey(r.path)));
    const hidden = found.problems.filter((p) => p.reason === "permission_denied" || p.reason === "unreadable").map((p) => p.path);
    let count = 0;
    for (const k of [...this.known.values()]) {
      if (present.has(k.key) || hidden.some((h) => k.path === h || k.path.startsWith(`${h}/`))) continue;
      const now = this.deps.clock.now();
      const seq = nextSeq(k.seq, now);
      try {
        await this.deps.bus.publish(repoGone, k.key, { repoKey: k.key, path: k.path, observedAt: new Date(now).toISOString(), seq }, { id: goneId(k.key, seq) });
      } catch (err) {
        this.countError("publish");
        this.log.error({ err, path: k.path }, "repo.gone not published; will retry at the next scan");
        continue;
      }
      this.deps.metrics.published.inc({ event: "gone" });
      this.log.info({ path: k.path }, "repo gone");
      this.known.delete(k.key);
      await this.deps.store.hdel(KNOWN_KEY, k.key).catch(() => undefined);
      count++;
    }
    return count;
  }
}

function summary(repos: number, results: { published: boolean; error: boolean }[], gone: number, problems: number, ms: number): ScanSummary {
  return {
    repos,
    published: results.filter((r) => r.published).length,
    gone,
    errors: results.filter((r) => r.error).length + problems,
    durationMs: Math.round(ms),
  };
}
