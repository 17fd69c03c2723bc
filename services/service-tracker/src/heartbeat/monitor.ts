import type { Clock } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { TrackerMetrics } from "../metrics.js";
import type { Scheduler } from "../scheduler.js";
import type { Tracked } from "../status.js";
import type { StatusBook } from "../tracker.js";
import { evaluate, type HeartbeatRecord, type HeartbeatSpec } from "./expect.js";
import { loadHeartbeat, recordHeartbeat } from "../store.js";

export type PingKind = "success" | "start" | "fail";
export type PingOutcome = "recorded" | "stale" | "unknown";

const FIELD: Record<PingKind, keyof HeartbeatRecord> = {
  success: "lastPingAt",
  start: "lastStartAt",
  fail: "lastFailAt",
};

/**
 * Heartbeat checks: check-ins from /ping and the bus move each job's deadline; one
 * scheduler entry per job wakes at its deadline (or keep-alive) to publish missed/up.
 */
export class HeartbeatMonitor {
  private readonly jobs = new Map<string, { spec: HeartbeatSpec; rec: HeartbeatRecord; t: Tracked }>();

  constructor(
    private readonly deps: {
      clock: Clock;
      log: Logger;
      store: Redis;
      scheduler: Scheduler;
      book: StatusBook;
      metrics: TrackerMetrics;
      resyncEvery: number;
      /** With replicas: which heartbeats this one judges (check-ins may reach any replica; the store has them all). */
      share?: { owns(name: string): boolean; recheckEvery: number };
    },
  ) {}

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  /** Stops expecting a job (its check was removed from the config) and forgets its status. */
  remove(name: string): void {
    if (!this.jobs.delete(name)) return;
    this.deps.scheduler.remove(`heartbeat:${name}`);
    this.deps.book.forget(name);
  }

  /** Loads what the store remembers, then schedules each job's first evaluation. */
  async add(specs: { spec: HeartbeatSpec; dependsOn: string[] }[]): Promise<void> {
    const now = this.deps.clock.now();
    for (const { spec, dependsOn } of specs) {
      const rec = await this.load(spec.name, now);
      const t = this.deps.book.track({
        name: spec.name,
        kind: "heartbeat",
        dependsOn,
        failureThreshold: 1,
        successThreshold: 1,
      });
      this.jobs.set(spec.name, { spec, rec, t });
      if (rec.lastPingAt !== null) this.deps.metrics.heartbeatLast.set({ check: spec.name }, rec.lastPingAt / 1000);
      this.deps.scheduler.add(`heartbeat:${spec.name}`, now, () =>
        this.deps.share ? this.judge(spec.name) : this.check(spec.name),
      );
    }
  }

  private async load(name: string, now: number): Promise<HeartbeatRecord> {
    const fresh: HeartbeatRecord = { lastPingAt: null, lastStartAt: null, lastFailAt: null, watchingSince: now };
    try {
      const h = await loadHeartbeat(this.deps.store, name, now);
      const num = (v: string | undefined) => (v === undefined || Number.isNaN(Number(v)) ? null : Number(v));
      return {
        lastPingAt: num(h.lastPingAt),
        lastStartAt: num(h.lastStartAt),
        lastFailAt: num(h.lastFailAt),
        watchingSince: num(h.watchingSince) ?? now,
      };
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, check: name }, "heartbeat state not loaded; starting fresh");
      return fresh;
    }
  }

  /**
   * With replicas, the owner judges a heartbeat from the store, where every replica records the
   * check-ins it took; the others only record. A job that is not up is looked at again every
   * `recheckEvery`, as a check-in taken by another replica does not wake this one.
   */
  private async judge(name: string): Promise<number | null> {
    const share = this.deps.share as NonNullable<typeof this.deps.share>;
    const job = this.jobs.get(name);
    if (!job) return null;
    if (!share.owns(name)) return this.deps.clock.now() + share.recheckEvery;
    const stored = await this.load(name, this.deps.clock.now());
    for (const f of ["lastPingAt", "lastStartAt", "lastFailAt"] as const) {
      const v = stored[f];
      if (v !== null && (job.rec[f] === null || v > (job.rec[f] as number))) job.rec[f] = v;
    }
    const next = this.check(name);
    return next === null || job.t.state === "up" ? next : Math.min(next, this.deps.clock.now() + share.recheckEvery);
  }

  /** Evaluates one job now and reports it; returns when to look again. */
  private check(name: string): number | null {
    const job = this.jobs.get(name);
    if (!job) return null;
    const now = this.deps.clock.now();
    const o = evaluate(job.spec, job.rec, now);
    this.deps.book.report(job.t, o);
    const keepAlive = now + this.deps.resyncEvery;
    return o.deadline >= now ? Math.min(o.deadline + 1, keepAlive) : keepAlive;
  }

  /** Records a check-in. Idempotent: an older or equal time than the one known changes nothing. */
  ping(name: string, kind: PingKind, at: number, source: "http" | "bus"): PingOutcome {
    const job = this.jobs.get(name);
    if (!job) {
      this.deps.metrics.heartbeats.inc({ source, kind, outcome: "unknown" });
      return "unknown";
    }
    const now = this.deps.clock.now();
    const when = Math.min(at, now);
    const field = FIELD[kind];
    const prev = job.rec[field];
    if (typeof prev === "number" && when <= prev) {
      this.deps.metrics.heartbeats.inc({ source, kind, outcome: "stale" });
      return "stale";
    }
    (job.rec[field] as number | null) = when;
    if (kind === "success") this.deps.metrics.heartbeatLast.set({ check: name }, when / 1000);
    this.deps.metrics.heartbeats.inc({ source, kind, outcome: "recorded" });
    recordHeartbeat(this.deps.store, name, field, when).catch((err: Error) => {
      this.deps.log.warn({ err: err.message, check: name }, "heartbeat not persisted");
    });
    this.deps.scheduler.reschedule(`heartbeat:${name}`, now);
    return "recorded";
  }
}
