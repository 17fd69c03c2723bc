import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import type { Bus } from "@mirror/bus";
import { repoKey, type ScannerConfig } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { type Discovery, type DiscoveryProblem, discover, type FoundRepo, isWithin } from "./discover.js";
import { fingerprint } from "./fingerprint.js";
import type { ScannerMetrics } from "./metrics.js";
import { Limiter, mapPool } from "./pool.js";
import { Publisher } from "./publisher.js";
import { type RepoConfigCache, sharedConfigCache } from "./repo-config.js";
import { type RepoRead, readRepo } from "./snapshot.js";

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
  /** Repos read with git (the others were unchanged on disk). */
  read: number;
  published: number;
  gone: number;
  errors: number;
  durationMs: number;
}

interface RepoMemo {
  fingerprint: string;
  ignored: Set<string>;
}

/** Finds repos, reads the ones that changed on disk, publishes what changed. Scans run one at a time. */
export class Scanner {
  readonly publisher: Publisher;
  private readonly memo = new Map<string, RepoMemo>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  /** At most `concurrency` git processes at once, across every repo being read. */
  private readonly gitSlots: Limiter;
  /** The repos of the last full scan (watch mode and fetch use them). */
  repos: FoundRepo[] = [];
  /** With replicas: whether this one scans a repo (by key). Without, every repo is this one's. */
  owns: (key: string) => boolean = () => true;

  /** The repos among `repos` this replica scans. */
  mine(repos: FoundRepo[]): FoundRepo[] {
    return repos.filter((r) => this.owns(repoKey(r.path)));
  }
  /**
   * Each repo's config as git resolved it, kept while its files are unchanged (fetch uses it
   * too). One per process, like the git helpers: it is git's view of files on disk, checked by
   * stat on every use, so a second Scanner in the process (--single, a restart of the service
   * in-process, the bench) does not pay a `git config` per repo again.
   */
  readonly configs: RepoConfigCache = sharedConfigCache;

  /** The settings in use; a config reload swaps them (roots, depth, excludes, caps, trusted owners). */
  get config(): ScannerConfig {
    return this.deps.config;
  }

  /** Takes a reloaded `scanner` section: the next scan walks the new roots with the new limits. */
  configure(config: ScannerConfig): void {
    this.deps.config = config;
  }

  constructor(private readonly deps: ScannerDeps) {
    this.log = deps.log.child({ component: "scanner" });
    this.gitSlots = new Limiter(this.concurrency);
    this.publisher = new Publisher({ ...deps, log: this.log, resyncMs: deps.config.resyncEvery ?? deps.config.resync });
  }

  get concurrency(): number {
    return this.deps.config.concurrency ?? availableParallelism();
  }

  load(): Promise<void> {
    return this.publisher.load();
  }

  /** Runs `job` after every scan queued before it. */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(job, job);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Scans every root: this replica's share of the repos, or every repo with `all` (scan.now, which
   * one replica answers). `force` reads and publishes every repo even if unchanged.
   */
  scanAll(opts: { force?: boolean; all?: boolean } = {}): Promise<ScanSummary> {
    return this.serial(async () => {
      const started = performance.now();
      const end = this.deps.metrics.scanDuration.startTimer();
      const found = await discover(
        this.deps.config.roots.map((r) => r.path),
        { maxDepth: this.deps.config.maxDepth, exclude: this.deps.config.exclude },
      );
      this.reportProblems(found.problems);
      const results = await this.scanRepos(opts.all ? found.repos : this.mine(found.repos), opts.force === true);
      const gone = await this.publishGone(found);
      end();
      this.repos = found.repos;
      this.configs.keep(found.repos);
      this.deps.metrics.repos.set(found.repos.length);
      return summary(found.repos.length, results, gone, found.problems.length, performance.now() - started);
    });
  }

  /** Scans the given repos (already known to be inside the roots). */
  scanSome(repos: FoundRepo[], opts: { force?: boolean } = {}): Promise<ScanSummary> {
    return this.serial(async () => {
      const started = performance.now();
      const results = await this.scanRepos(repos, opts.force === true);
      return summary(repos.length, results, 0, 0, performance.now() - started);
    });
  }

  /**
   * Fingerprints every repo first (stat calls only), then runs git only where the fingerprint
   * changed or a keep-alive is due. A changed nested repo or submodule also marks the repos
   * around it as changed: a new commit in a submodule shows in its parent's status.
   */
  private async scanRepos(repos: FoundRepo[], force: boolean): Promise<Outcome[]> {
    const keys = repos.map((r) => repoKey(r.path));
    const prints = await mapPool(repos, this.concurrency * 4, (r, i) =>
      fingerprint({ repo: r, ignored: this.memo.get(keys[i] as string)?.ignored ?? new Set() }).catch(() => undefined),
    );
    const changed = repos.map(
      (_, i) => force || prints[i] === undefined || prints[i] !== this.memo.get(keys[i] as string)?.fingerprint,
    );
    const indexOf = new Map(repos.map((r, i) => [r.path, i]));
    repos.forEach((inner, i) => {
      if (!changed[i]) return;
      for (let dir = dirname(inner.path); dir !== dirname(dir); dir = dirname(dir)) {
        const j = indexOf.get(dir);
        if (j !== undefined) changed[j] = true;
      }
    });
    // gitSlots bounds git processes; twice as many repos are in flight so that one's parsing,
    // file reads and publish (a JetStream round trip) overlap the next one's git.
    const published: Array<Promise<Outcome>> = [];
    await mapPool(repos, this.concurrency * 2, async (repo, i) => {
      const key = keys[i] as string;
      if (!changed[i] && !this.publisher.resyncDue(key)) {
        this.deps.metrics.repoScans.inc({ mode: "unchanged" });
        published.push(Promise.resolve({ read: false, published: false, error: false }));
        return;
      }
      const { maxUntracked, gitTimeout, trustedOwners } = this.deps.config;
      const read = await readRepo(repo, {
        maxUntracked,
        timeoutMs: gitTimeout,
        gitSlots: this.gitSlots,
        trustedOwners,
        configCache: this.configs,
      });
      this.deps.metrics.repoScans.inc({ mode: "git" });
      published.push(this.publish(repo, key, prints[i], force, read));
    });
    return Promise.all(published);
  }

  private async publish(
    repo: FoundRepo,
    key: string,
    print: string | undefined,
    force: boolean,
    { body, ignored }: RepoRead,
  ): Promise<Outcome> {
    const before = this.publisher.known.get(key);
    if (body.error) this.deps.metrics.errors.inc({ reason: body.untrusted ? "untrusted" : "git" });
    if (body.untrackedCapped) this.deps.metrics.errors.inc({ reason: "untracked_capped" });
    const published = await this.publisher.snapshot(key, body, force);
    // Logged when the repo's state changed, not at every scan of a repo that stays broken.
    if (published && (force || before?.hash !== this.publisher.known.get(key)?.hash)) {
      if (body.untrusted)
        this.log.warn({ path: repo.path, owner: body.untrusted }, "repo not opened: another user owns it");
      else if (body.error) this.log.warn({ path: repo.path, error: body.error }, "repo could not be fully read");
      if (body.untrackedCapped)
        this.log.warn({ path: repo.path, cap: this.deps.config.maxUntracked }, "untracked count capped");
    }
    // A failed publish is retried at the next scan: no fingerprint is kept for it. A broken
    // repo keeps its fingerprint like any other, so git runs again only once it changes.
    if (print && (published || this.publisher.known.get(key)?.hash !== undefined))
      this.memo.set(key, { fingerprint: print, ignored });
    else this.memo.delete(key);
    return { read: true, published, error: body.error !== null };
  }

  private reportProblems(problems: DiscoveryProblem[]): void {
    for (const p of problems) {
      this.deps.metrics.errors.inc({ reason: p.reason });
      this.log.warn({ path: p.path, reason: p.reason }, p.message);
    }
  }

  /** Publishes `repo.gone` for known repos not found now, unless a problem hid the folder they are in. */
  private async publishGone(found: Discovery): Promise<number> {
    const present = new Set(found.repos.map((r) => repoKey(r.path)));
    const hidden = found.problems
      .filter((p) => p.reason === "permission_denied" || p.reason === "unreadable")
      .map((p) => p.path);
    let count = 0;
    for (const k of [...this.publisher.known.values()]) {
      // Another replica's repo is its to call gone.
      if (present.has(k.key) || !this.owns(k.key) || hidden.some((h) => isWithin(k.path, h))) continue;
      if (await this.publisher.gone(k.key)) {
        this.memo.delete(k.key);
        count++;
      }
    }
    return count;
  }
}

interface Outcome {
  read: boolean;
  published: boolean;
  error: boolean;
}

function summary(repos: number, results: Outcome[], gone: number, problems: number, ms: number): ScanSummary {
  return {
    repos,
    read: results.filter((r) => r.read).length,
    published: results.filter((r) => r.published).length,
    gone,
    errors: results.filter((r) => r.error).length + problems,
    durationMs: Math.round(ms),
  };
}
