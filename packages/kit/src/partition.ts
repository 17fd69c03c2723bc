import { createHash, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import { defineLua, runLua } from "./lua.js";

/** A clock that only moves forward at the machine's rate: lease validity is elapsed time, never wall time. */
export const monotonicClock: Clock = { now: () => performance.now() };

/**
 * The replica that owns `item` among `members` (rendezvous, or highest-random-weight, hashing):
 * every replica with the same member list picks the same one, and a member joining or leaving
 * moves only the items it wins or held (1/N of them), never reshuffles the rest.
 */
export function ownerOf(item: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const m of members) {
    const score = createHash("sha256").update(m).update("\0").update(item).digest().readBigUInt64BE(0);
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}

/** What one membership round learned from the store. */
export interface RenewResult {
  /** Local (monotonic) time the round was sent: the lease is measured from here, never from the reply. */
  sentAt: number;
  /** Local time the reply came. */
  receivedAt: number;
  /** Whether this member's entry was still there (false: a first start, or it lapsed). */
  existed: boolean;
  /** Every live member, this one included, as the store saw them. */
  members: string[];
}

/** A change of the live members, as one replica saw it between two rounds. */
export interface ViewChange {
  joined: string[];
  left: string[];
  before: string[];
  members: string[];
  /**
   * How long ago (ms) the previous successful round was sent: the members in `left` were live
   * then, so none of them can have stopped earlier than `lastSeenAgo + ttl` ago.
   */
  lastSeenAgo: number;
}

/**
 * One replica's view of the membership and what it may act on, from the rounds it ran. Pure:
 * the clock is injected, the store is not here, so every rule below is unit-tested without
 * waiting for a TTL.
 *
 * - It acts only while its lease holds: until `sentAt + ttl - safety` of its last successful
 *   round. The store expires the entry at its own `receipt + ttl`, which is later than that,
 *   so a replica cut off from the store (or stuck) stops before anyone else takes its share.
 * - A newcomer (an entry the store did not have) that finds others waits one `ttl` before it
 *   acts: any replica whose view predates it either renews within that time and sees it, or
 *   its own lease lapses. A replica that still held a valid lease and finds its entry gone
 *   (the Redis master failed over and lost it) is not a newcomer: everyone's view had it.
 * - Alone, it acts at once: nobody else can hold a view with items to hand over.
 */
export class PartitionView {
  private members: string[] = [];
  private leaseUntil = Number.NEGATIVE_INFINITY;
  private settleUntil = Number.NEGATIVE_INFINITY;
  /** The last round failed (the store did not answer) and the view is held on (`holdOnOutage`). */
  private outage = false;
  /** When the last successful round was sent. */
  private lastRoundAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly self: string,
    private readonly opts: { ttl: number; clock: Clock; safety?: number; holdOnOutage?: boolean },
  ) {}

  /**
   * A round that got no answer. With `holdOnOutage` the replica keeps acting on its last view
   * while the store is away (work that is harmless to repeat, like probes: a store outage then
   * costs duplicates, never a gap); without it, it stops when its lease lapses.
   */
  fail(): void {
    if (this.opts.holdOnOutage && this.members.length > 0) this.outage = true;
  }

  get safety(): number {
    return this.opts.safety ?? Math.min(1_000, Math.floor(this.opts.ttl / 10));
  }

  /** Takes a successful round; returns the change of members, or null when they are the same. */
  apply(r: RenewResult): ViewChange | null {
    const held = this.holdsLease(r.sentAt) || this.outage;
    this.outage = false;
    const others = r.members.some((m) => m !== this.self);
    if (!r.existed && !held && others) this.settleUntil = r.receivedAt + this.opts.ttl;
    this.leaseUntil = r.sentAt + this.opts.ttl - this.safety;
    return this.take(r);
  }

  /**
   * Takes the live members of a round that did not renew this replica (a paused one): its view
   * follows the others (one that died is dropped, so its share is taken) while its own lease is
   * not extended. Returns the change of members, or null.
   */
  observe(r: Omit<RenewResult, "existed">): ViewChange | null {
    return this.take(r);
  }

  private take(r: Omit<RenewResult, "existed">): ViewChange | null {
    const next = [...new Set([...r.members, this.self])].sort();
    const before = this.members;
    const lastSeenAgo = r.receivedAt - this.lastRoundAt;
    this.members = next;
    this.lastRoundAt = r.sentAt;
    const joined = next.filter((m) => !before.includes(m));
    const left = before.filter((m) => !next.includes(m));
    return joined.length || left.length ? { joined, left, before, members: next, lastSeenAgo } : null;
  }

  /** Gives the lease up at once (a clean stop). */
  drop(): void {
    this.leaseUntil = Number.NEGATIVE_INFINITY;
    this.members = [];
    this.outage = false;
  }

  private holdsLease(at: number): boolean {
    return at < this.leaseUntil;
  }

  /** Whether this replica may act at all now: lease held and, for a newcomer, settled. */
  get active(): boolean {
    const now = this.opts.clock.now();
    return (this.holdsLease(now) || this.outage) && now >= this.settleUntil;
  }

  /** Whether this replica acts on `item` now. */
  owns(item: string): boolean {
    return this.active && ownerOf(item, this.members) === this.self;
  }

  /** The live members of the last round (sorted). */
  get live(): readonly string[] {
    return this.members;
  }
}

/**
 * One round in the store, atomically: (re)write this member's entry with a TTL the Redis server
 * expires (its own clock, so a replica's skewed clock cannot extend or shorten anyone's
 * lease), add it to the set, drop the members whose entry expired, and return whether the
 * entry was there and who is live. Each member's entry key derives from the set's key, so it
 * carries the service's prefix (and its ACL pattern).
 */
const ROUND = defineLua("partitionRound", {
  keys: ["set"],
  args: ["self", "ttlMs"],
  body: `
local existed = redis.call('EXISTS', set .. ':' .. self)
redis.call('SET', set .. ':' .. self, '1', 'PX', ttlMs)
redis.call('SADD', set, self)
local live = {}
for _, m in ipairs(redis.call('SMEMBERS', set)) do
  if redis.call('EXISTS', set .. ':' .. m) == 1 then table.insert(live, m) else redis.call('SREM', set, m) end
end
return {existed, live}
`,
});

/** The live members without renewing anyone (a paused replica's round); drops the expired ones. */
const LOOK = defineLua("partitionLook", {
  keys: ["set"],
  args: [],
  body: `
local live = {}
for _, m in ipairs(redis.call('SMEMBERS', set)) do
  if redis.call('EXISTS', set .. ':' .. m) == 1 then table.insert(live, m) else redis.call('SREM', set, m) end
end
return live
`,
});

/**
 * A member leaves a member set (`set` and its `set:<member>` entries): a Partition's replicas, or
 * config peers (config-peers.ts), which keep the same shape.
 */
export const LEAVE = defineLua("memberSetLeave", {
  keys: ["set"],
  args: ["self"],
  body: `
redis.call('DEL', set .. ':' .. self)
redis.call('SREM', set, self)
return 1
`,
});

export interface PartitionOptions {
  store: Redis;
  /** What is partitioned (`checks`, `repos`): one member set per group under the service's prefix. */
  group: string;
  /** Lease length: a dead replica's share moves within `ttl + renewEvery`. */
  ttl: number;
  /** How often a round runs; default a quarter of `ttl`. */
  renewEvery?: number;
  /** Elapsed-time clock; default monotonic. */
  clock?: Clock;
  log: Logger;
  /** This replica's member id; default host, pid and random bytes (a restart is a new member). */
  self?: string;
  /** Keep acting on the last view while the store does not answer (PartitionView.fail). */
  holdOnOutage?: boolean;
  /** Called after a round that changed the live members. */
  onChange?: (change: ViewChange) => void;
  /**
   * Why this replica should not renew now (its work's output cannot be delivered: see
   * pauseWhenBusStalls), or undefined. A paused round does not renew, so the store lets its
   * entry lapse and the others take its share after the TTL; it still reads who is live, and
   * counts as a failed round (with `holdOnOutage` the replica keeps acting on that view:
   * harmless repeats, and no gap when every replica pauses at once, as in a leader election).
   */
  pause?: () => string | undefined;
  /**
   * Called after the first round that renewed the lease again after a pause (this replica is live
   * and owns its share once more): output sent during the pause may not have been stored, so the
   * work whose output is whole state (a check's status) sends it again.
   */
  onResume?: () => void;
}

/**
 * Splits a service's work (checks, repos) among its live replicas: membership leases in Redis
 * with a server-side TTL, ownership by rendezvous hashing over the live members. See
 * docs/RELIABILITY.md, "Replicas".
 */
export class Partition {
  readonly view: PartitionView;
  readonly self: string;
  private readonly key: string;
  private readonly clock: Clock;
  private readonly renewEvery: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastFailed = false;
  private inFlight: Promise<void> | undefined;
  /** Why the last round was paused (undefined: it was not). */
  private paused: string | undefined;
  /** A pause ended and no round has renewed the lease since (onResume is owed). */
  private resuming = false;

  constructor(private readonly opts: PartitionOptions) {
    this.self = opts.self ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
    this.clock = opts.clock ?? monotonicClock;
    this.renewEvery = opts.renewEvery ?? Math.max(50, Math.floor(opts.ttl / 4));
    this.key = `partition:${opts.group}`;
    this.view = new PartitionView(this.self, {
      ttl: opts.ttl,
      clock: this.clock,
      holdOnOutage: opts.holdOnOutage ?? false,
    });
  }

  /** Whether this replica acts on `item` now. */
  owns(item: string): boolean {
    return this.view.owns(item);
  }

  /** The lease length (ms). */
  get ttl(): number {
    return this.opts.ttl;
  }

  /** Runs the first round (so a lone replica acts at once), then one every `renewEvery`. */
  async start(): Promise<void> {
    await this.round();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    // After a failed round, the next comes sooner: when the store is back (a failover), the view
    // catches up at once and a dead replica's share moves without waiting out a whole period.
    const wait = this.lastFailed ? Math.min(this.renewEvery, 200) : this.renewEvery;
    this.timer = setTimeout(() => {
      void this.round().finally(() => this.schedule());
    }, wait);
    this.timer.unref?.();
  }

  /** One membership round; a failure leaves the lease to lapse (this replica then stops acting). */
  round(): Promise<void> {
    this.inFlight ??= this.roundOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async roundOnce(): Promise<void> {
    const why = this.opts.pause?.();
    if (why && !this.paused)
      this.opts.log.warn(
        { group: this.opts.group, self: this.self, why },
        "replica lease not renewed: its output cannot be delivered, so the other replicas take its share",
      );
    else if (!why && this.paused) {
      this.opts.log.info({ group: this.opts.group, self: this.self }, "replica lease renewed again");
      this.resuming = true;
    }
    if (why) this.resuming = false;
    this.paused = why;
    const sentAt = this.clock.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      // A round that hangs (the store failing over) counts as failed after two periods, so a
      // held-on view is kept instead of a lease quietly lapsing behind a stuck call.
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("membership round timed out")), 2 * this.renewEvery);
      });
      // Paused: no renewal (the store lets this entry lapse), but the view still follows the
      // others, so a replica that died meanwhile is dropped and its share taken here too.
      const [existed, members] = why
        ? [0, (await Promise.race([runLua(this.opts.store, LOOK, { set: this.key }, {}), late])) as string[]]
        : ((await Promise.race([
            runLua(this.opts.store, ROUND, { set: this.key }, { self: this.self, ttlMs: this.opts.ttl }),
            late,
          ])) as [number, string[]]);
      this.lastFailed = false;
      if (this.stopped) return;
      if (why) this.view.fail();
      const change = why
        ? this.view.observe({ sentAt, receivedAt: this.clock.now(), members })
        : this.view.apply({ sentAt, receivedAt: this.clock.now(), existed: existed === 1, members });
      if (change) {
        this.opts.log.info(
          {
            group: this.opts.group,
            self: this.self,
            members: change.members,
            joined: change.joined,
            left: change.left,
          },
          "replicas changed",
        );
        this.opts.onChange?.(change);
      }
      if (this.resuming && !why) {
        this.resuming = false;
        this.opts.onResume?.();
      }
    } catch (err) {
      this.lastFailed = true;
      this.view.fail();
      this.opts.log.warn({ err: (err as Error).message, group: this.opts.group }, "replica lease not renewed");
    } finally {
      clearTimeout(timer);
    }
  }

  /** Leaves at once, so the others take this share at their next round instead of after the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
    this.view.drop();
    await runLua(this.opts.store, LEAVE, { set: this.key }, { self: this.self }).catch(() => undefined);
  }
}

/**
 * The lease a service partitions with, from the shortest interval of its work: a dead replica's
 * share is picked up within `ttl + ttl/4` (under one interval, so within two intervals of its
 * last run), but never under 1 s (a Redis hiccup must not stop the work) nor over 15 s.
 */
export function leaseFor(shortestInterval: number): number {
  return Math.min(15_000, Math.max(1_000, Math.floor(shortestInterval * 0.4)));
}

/**
 * A Partition `pause` for work whose output is JetStream publishes (statuses, snapshots): paused
 * while the bus is disconnected, or while a publish has waited over `afterMs` for its ack. The
 * second is a replica on a NATS node cut off from the stream's quorum (a minority side of a
 * split): its connection stays up, nothing it publishes is stored, so it must not keep a share.
 */
export function pauseWhenBusStalls(
  bus: { readonly connected: boolean; readonly publishStalledMs: number },
  afterMs = 3_000,
): () => string | undefined {
  return () => {
    if (!bus.connected) return "not connected to NATS";
    const stalled = bus.publishStalledMs;
    return stalled > afterMs ? `a publish has waited ${Math.round(stalled)} ms for its JetStream ack` : undefined;
  };
}
