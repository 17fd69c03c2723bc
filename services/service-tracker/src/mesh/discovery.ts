import { formatDuration } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { TrackerMetrics } from "../metrics.js";
import type { Observed, Tracked } from "../status.js";
import type { StatusBook } from "../tracker.js";
import { type InfoReply, type PingReply, readReply, type StatsReply } from "./replies.js";
import { forgetMember, knownMembers, membersSeen } from "../store.js";

interface Instance {
  id: string;
  version: string;
  ping?: PingReply;
  info?: InfoReply;
  stats?: StatsReply;
}

interface Member {
  name: string;
  t: Tracked;
  lastSeen: number;
  missed: number;
  /** The round that last heard it. */
  heardIn: number;
}

interface Round {
  byName: Map<string, Map<string, Instance>>;
  bad: Map<string, string>;
}

/**
 * Finds every service on the bus through the NATS Services API and tracks it with no config:
 * each round sends $SRV.PING, $SRV.INFO and $SRV.STATS and collects replies for a window.
 * A member that misses `missedRounds` rounds is down. A round in which the tracker does not
 * hear itself is not trusted (the bus, not the members, is in trouble).
 */
export class MeshDiscovery {
  private readonly members = new Map<string, Member>();
  private rounds = 0;

  constructor(
    private readonly deps: {
      /** The bus's scatter-gather (Bus.gather): requests with a reply into this identity's own inbox. */
      gather: (subjects: readonly string[], windowMs: number, onReply: (data: Uint8Array) => void) => Promise<void>;
      connected: () => boolean;
      selfName: string;
      clock: Clock;
      log: Logger;
      store: Redis;
      book: StatusBook;
      metrics: TrackerMetrics;
      window: number;
      missedRounds: number;
      forgetAfter: number;
      /** Names taken by configured checks: a mesh member with one of them is tracked as mesh-<name>. */
      reserved: Set<string>;
    },
  ) {}

  /** Members the store remembers: if they do not answer after a restart, they still go down. */
  async load(): Promise<void> {
    try {
      const known = await knownMembers(this.deps.store);
      for (const [name, seen] of Object.entries(known)) this.member(name, Number(seen) || this.deps.clock.now());
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, "mesh members not loaded");
    }
  }

  private member(name: string, lastSeen: number): Member {
    let m = this.members.get(name);
    if (!m) {
      const statusName = this.deps.reserved.has(name) ? `mesh-${name}` : name;
      m = {
        name,
        t: this.deps.book.track({ name: statusName, kind: "mesh", failureThreshold: 1, successThreshold: 1 }),
        lastSeen,
        missed: 0,
        heardIn: 0,
      };
      this.members.set(name, m);
    }
    return m;
  }

  /** One discovery round. Never throws on what members reply. */
  async round(): Promise<void> {
    if (!this.deps.connected()) return;
    const round = await this.collect();
    const no = ++this.rounds;
    const now = this.deps.clock.now();
    const trusted = round.byName.has(this.deps.selfName);
    if (!trusted) this.deps.log.warn("discovery round did not hear the tracker itself; members are not marked missing");
    let instances = 0;
    for (const [name, byId] of round.byName) {
      instances += byId.size;
      const m = this.member(name, now);
      Object.assign(m, { lastSeen: now, missed: 0, heardIn: no });
      this.deps.book.report(m.t, seen(byId, round.bad.get(name) ?? null));
    }
    for (const [name, reason] of round.bad) {
      if (round.byName.has(name)) continue;
      const m = this.member(name, now);
      Object.assign(m, { lastSeen: now, missed: 0, heardIn: no });
      this.deps.book.report(m.t, { state: "degraded", latencyMs: null, reason, failedConditions: [], details: {} });
    }
    if (trusted) for (const m of this.members.values()) if (m.heardIn !== no) this.missing(m, now);
    this.deps.metrics.meshMembers.set(instances);
    const seenNames = [...new Set([...round.byName.keys(), ...round.bad.keys()])];
    if (seenNames.length) {
      await membersSeen(this.deps.store, Object.fromEntries(seenNames.map((n) => [n, String(now)]))).catch(
        (err: Error) => {
          this.deps.log.warn({ err: err.message }, "mesh members not persisted");
        },
      );
    }
  }

  private missing(m: Member, now: number): void {
    m.missed++;
    if (now - m.lastSeen >= this.deps.forgetAfter) {
      this.deps.book.report(m.t, {
        state: "unknown",
        latencyMs: null,
        reason: `forgotten: not seen on the bus for ${formatDuration(now - m.lastSeen)}`,
        failedConditions: [],
        details: { forgotten: true },
      });
      this.members.delete(m.name);
      this.deps.book.forget(m.t.name);
      void forgetMember(this.deps.store, m.name).catch(() => undefined);
      return;
    }
    if (m.missed < this.deps.missedRounds) return void this.deps.book.keepAlive(m.t);
    const reason = `no instance answered $SRV.PING for ${m.missed} rounds (last seen ${new Date(m.lastSeen).toISOString()})`;
    this.deps.book.report(m.t, {
      state: "down",
      latencyMs: null,
      reason,
      failedConditions: [],
      details: { lastSeen: new Date(m.lastSeen).toISOString(), missedRounds: m.missed },
    });
  }

  /** Sends the three requests with one reply inbox and gathers what arrives within the window. */
  private async collect(): Promise<Round> {
    const round: Round = { byName: new Map(), bad: new Map() };
    const onReply = (data: Uint8Array) => {
      const r = readReply(data);
      if (r.kind === "bad") {
        this.deps.metrics.meshBadReplies.inc({ kind: r.name ? "malformed" : "unreadable" });
        if (r.name) round.bad.set(r.name, r.reason);
        return;
      }
      let byId = round.byName.get(r.data.name);
      if (!byId) round.byName.set(r.data.name, (byId = new Map()));
      const inst = byId.get(r.data.id) ?? { id: r.data.id, version: r.data.version };
      if (r.kind === "ping") inst.ping = r.data;
      else if (r.kind === "info") inst.info = r.data;
      else inst.stats = r.data;
      byId.set(r.data.id, inst);
    };
    try {
      await this.deps.gather(["$SRV.PING", "$SRV.INFO", "$SRV.STATS"], this.deps.window, onReply);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, "discovery round failed");
    }
    return round;
  }
}

/** An answering member: up, with its instances, endpoints and request/error counts. */
function seen(byId: Map<string, Instance>, bad: string | null): Observed {
  const instances = [...byId.values()];
  const endpoints = new Map<string, { name: string; subject: string; requests: number; errors: number }>();
  for (const i of instances) {
    for (const e of i.info?.endpoints ?? [])
      if (!endpoints.has(e.subject))
        endpoints.set(e.subject, { name: e.name, subject: e.subject, requests: 0, errors: 0 });
    for (const e of i.stats?.endpoints ?? []) {
      const ep = endpoints.get(e.subject) ?? { name: e.name, subject: e.subject, requests: 0, errors: 0 };
      ep.requests += e.num_requests;
      ep.errors += e.num_errors;
      endpoints.set(e.subject, ep);
    }
  }
  const eps = [...endpoints.values()];
  const details = {
    instances: instances.map((i) => ({
      id: i.id,
      version: i.version,
      identity: i.ping?.metadata?.identity ?? i.info?.metadata?.identity ?? null,
      started: i.stats?.started ?? null,
    })),
    endpoints: eps,
    requests: eps.reduce((a, e) => a + e.requests, 0),
    errors: eps.reduce((a, e) => a + e.errors, 0),
  };
  if (bad) return { state: "degraded", latencyMs: null, reason: bad, failedConditions: [], details };
  return { state: "up", latencyMs: null, reason: null, failedConditions: [], details };
}
