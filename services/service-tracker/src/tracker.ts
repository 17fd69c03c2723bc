import type { ServiceStatus } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { TrackerMetrics } from "./metrics.js";
import type { StatusPublisher } from "./publisher.js";
import { type Kind, newTracked, type Observed, observe, type Tracked, toStatus } from "./status.js";
import { forgetState, savedStates, saveState } from "./store.js";

export interface TrackerDeps {
  clock: Clock;
  log: Logger;
  metrics: TrackerMetrics;
  publisher: StatusPublisher;
  resyncEvery: number;
  /** Remembers states across restarts (best effort: the store may be away). */
  store?: Redis;
  /** The probe site every published status is marked with (tracker.site). */
  site?: string;
}

/**
 * The status book: every tracked entity (check, heartbeat, mesh member), its damped state,
 * and the rule that a status is published on every change and at least every `resyncEvery`.
 */
export class StatusBook {
  private readonly entries = new Map<string, Tracked>();
  private readonly restored = new Map<string, { state: Tracked["state"]; since: number }>();

  constructor(private readonly deps: TrackerDeps) {}

  track(spec: {
    name: string;
    kind: Kind;
    dependsOn?: string[];
    failureThreshold: number;
    successThreshold: number;
  }): Tracked {
    let t = this.entries.get(spec.name);
    if (!t) {
      t = newTracked(spec, this.deps.clock.now());
      t.restored = this.restored.get(spec.name);
      this.entries.set(spec.name, t);
      this.deps.metrics.setState(spec.name, t.state);
    }
    return t;
  }

  /** Loads the states remembered before a restart, so `since` does not reset to the restart. */
  async restore(): Promise<void> {
    if (!this.deps.store) return;
    try {
      const saved = await savedStates(this.deps.store);
      for (const [name, text] of Object.entries(saved)) {
        const v = JSON.parse(text) as { state?: unknown; since?: unknown };
        if (typeof v.state !== "string" || typeof v.since !== "number") continue;
        this.restored.set(name, { state: v.state as Tracked["state"], since: v.since });
      }
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, "remembered states not loaded");
    }
  }

  get(name: string): Tracked | undefined {
    return this.entries.get(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  all(): Tracked[] {
    return [...this.entries.values()];
  }

  forget(name: string): void {
    this.entries.delete(name);
    if (this.deps.store) forgetState(this.deps.store, name).catch(() => undefined);
  }

  /** Applies an observation; publishes when the status changed or the keep-alive is due. */
  report(t: Tracked, o: Observed): ServiceStatus | null {
    const now = this.deps.clock.now();
    const before = t.state;
    const due = observe(t, o, now, this.deps.resyncEvery);
    if (t.state !== before) {
      this.deps.metrics.setState(t.name, t.state);
      this.deps.log.info(
        {
          check: t.name,
          kind: t.kind,
          from: before,
          to: t.state,
          reason: o.reason ?? o.failedConditions[0]?.condition ?? null,
        },
        "state changed",
      );
      if (t.state !== "unknown") {
        if (this.deps.store)
          saveState(this.deps.store, t.name, JSON.stringify({ state: t.state, since: t.since })).catch((err: Error) => {
            this.deps.log.warn({ err: err.message, check: t.name }, "state not persisted");
          });
      }
    }
    if (!due) return null;
    const status = this.atSite(toStatus(t, now));
    this.deps.publisher.publish(status);
    return status;
  }

  /** Publishes an entity's status again if its keep-alive is due (no new observation). */
  keepAlive(t: Tracked): void {
    const now = this.deps.clock.now();
    if (t.last && now - t.lastPublishedAt >= this.deps.resyncEvery)
      this.deps.publisher.publish(this.atSite(toStatus(t, now)));
  }

  /**
   * Publishes again the status of every observed entity `owns` accepts, with a new seq (a new
   * Nats-Msg-Id) and its observation time unchanged, so it can never override a newer one. After a
   * stall of the bus: what was published meanwhile may not be stored (a minority NATS node's
   * stream replica can keep its own unreplicated entries and miss what the majority stored, seen
   * with nats-server 2.9 in test/scale-out-split.test.ts). Returns how many went out.
   */
  publishAgain(owns: (t: Tracked) => boolean): number {
    const now = this.deps.clock.now();
    let n = 0;
    for (const t of this.entries.values()) {
      if (!t.last || !owns(t)) continue;
      this.deps.publisher.publish(this.atSite(toStatus(t, now)));
      n++;
    }
    return n;
  }

  private atSite(status: ServiceStatus): ServiceStatus {
    return this.deps.site ? { ...status, site: this.deps.site } : status;
  }
}
