import type { Bus } from "@mirror/bus";
import { repoGone, repoSnapshot } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { ScannerMetrics } from "./metrics.js";
import { bodyHash, goneId, type KnownRepo, nextSeq, shouldPublish, snapshotId } from "./publish-policy.js";
import type { SnapshotBody } from "./snapshot.js";
import { forgetRepo, knownRepos, rememberRepo } from "./store.js";

export interface PublisherDeps {
  bus: Bus;
  store: Redis;
  log: Logger;
  clock: Clock;
  metrics: ScannerMetrics;
  resyncMs: number;
}

/** Publishes snapshots and gone events with stable ids and monotonic seqs; remembers what it published. */
export class Publisher {
  readonly known = new Map<string, KnownRepo>();

  constructor(private readonly deps: PublisherDeps) {}

  /** Loads the repos a previous run knew about (best effort: Redis down means no gone events for them). */
  async load(): Promise<void> {
    try {
      for (const [key, v] of await knownRepos(this.deps.store)) {
        if (!this.known.has(key)) this.known.set(key, { key, path: v.path, seq: v.seq, publishedAt: 0 });
      }
    } catch (err) {
      this.deps.log.warn({ err }, "could not load known repos; repos removed while stopped will not be reported gone");
    }
  }

  /** Whether a keep-alive of this repo is due (then it is read again even if nothing changed). */
  resyncDue(key: string): boolean {
    const k = this.known.get(key);
    return !k || k.hash === undefined || this.deps.clock.now() - k.publishedAt >= this.deps.resyncMs;
  }

  /** Publishes the snapshot if it changed, a keep-alive is due, or `force`. Never throws. */
  async snapshot(key: string, body: SnapshotBody, force: boolean): Promise<boolean> {
    const now = this.deps.clock.now();
    const prev = this.known.get(key);
    const hash = bodyHash(body);
    if (!shouldPublish(prev, hash, now, this.deps.resyncMs, force)) return false;
    const seq = nextSeq(prev?.seq ?? 0, now);
    try {
      await this.deps.bus.publish(
        repoSnapshot,
        key,
        { ...body, seq, observedAt: new Date(now).toISOString() },
        { id: snapshotId(key, seq) },
      );
    } catch (err) {
      this.deps.metrics.errors.inc({ reason: "publish" });
      this.deps.log.error({ err, path: body.path }, "snapshot not published; will retry at the next scan");
      return false;
    }
    this.deps.metrics.published.inc({ event: "snapshot" });
    this.known.set(key, { key, path: body.path, hash, seq, publishedAt: now });
    // The last seq is kept too, so seqs keep rising after a restart even if the clock went back.
    await rememberRepo(this.deps.store, key, { path: body.path, seq }).catch((err) =>
      this.deps.log.warn({ err }, "could not store known repo"),
    );
    return true;
  }

  /** Publishes `repo.gone` for a known repo; forgets it once published. */
  async gone(key: string): Promise<boolean> {
    const k = this.known.get(key);
    if (!k) return false;
    const now = this.deps.clock.now();
    const seq = nextSeq(k.seq, now);
    try {
      await this.deps.bus.publish(
        repoGone,
        key,
        { repoKey: key, path: k.path, observedAt: new Date(now).toISOString(), seq },
        { id: goneId(key, seq) },
      );
    } catch (err) {
      this.deps.metrics.errors.inc({ reason: "publish" });
      this.deps.log.error({ err, path: k.path }, "repo.gone not published; will retry at the next scan");
      return false;
    }
    this.deps.metrics.published.inc({ event: "gone" });
    this.deps.log.info({ path: k.path }, "repo gone");
    this.known.delete(key);
    await forgetRepo(this.deps.store, key).catch(() => undefined);
    return true;
  }
}
