import type { LoopEvent } from "@mirror/contracts";
import { defineLua, runLua } from "@mirror/kit";
import type { Redis } from "ioredis";
import { EntityState } from "./state.js";

/** One loop event waiting to be published; written in the same atomic step as the transition. */
export interface OutboxEntry {
  /** Nats-Msg-Id: `${loopId}:${rev}`. */
  id: string;
  event: "opened" | "updated" | "closed";
  token: string;
  data: LoopEvent;
  /** Wall-clock ms when it was stored (the drain leaves fresh entries to their writer). */
  at: number;
  /** Trace context of the input that caused it: a later drain publishes it in that same trace. */
  trace?: Record<string, string>;
}

export interface StoredEntity {
  version: number;
  state: EntityState | null;
  /** The stored document as written, to tell a real change from a no-op. */
  raw: string | null;
  /** When the tick looks at it next (ms), or null. */
  due: number | null;
}

export interface Commit {
  state: EntityState;
  loopIds: string[];
  outbox: OutboxEntry[];
  /** Deltas of the loop counters ("kind|severity|status" -> +1/-1). */
  counts: [string, number][];
  wake: number | null;
  /** Triage leases of loops this commit opens: [due ms, loop id] in the `triage` set. */
  leases?: [number, string][];
}

/** An entity's version, document and wake-up time (store.read). */
const READ = defineLua("loopRead", {
  keys: ["entityKey", "dueKey"],
  args: ["member"],
  body: `local got = redis.call('HMGET', entityKey, 'v', 'doc')
return { got[1], got[2], redis.call('ZSCORE', dueKey, member) }`,
});

// Optimistic compare-and-set: the transition, its index entries, its outbox events, the
// counters, the next wake-up and the triage leases of opened loops are written together or
// not at all, and only if nobody else wrote this entity since we read it. Two replicas
// therefore never double-open, and no opened loop is left without a triage lease.
const COMMIT = defineLua("loopCommit", {
  keys: [
    "entityKey",
    "indexKey",
    "outboxKey",
    "outboxDataKey",
    "outboxSeqKey",
    "entitiesKey",
    "dueKey",
    "countsKey",
    "triageKey",
  ],
  args: ["expectedVersion", "doc", "entity", "payload"],
  body: `
local v = tonumber(redis.call('HGET', entityKey, 'v') or '0')
if v ~= tonumber(expectedVersion) then return -1 end
local p = cjson.decode(payload)
redis.call('HSET', entityKey, 'v', v + 1, 'doc', doc)
redis.call('SADD', entitiesKey, entity)
for _, id in ipairs(p.loopIds) do redis.call('HSET', indexKey, id, entity) end
for _, o in ipairs(p.outbox) do
  local n = redis.call('INCR', outboxSeqKey)
  redis.call('ZADD', outboxKey, n, o[1])
  redis.call('HSET', outboxDataKey, o[1], o[2])
end
for _, c in ipairs(p.counts) do redis.call('HINCRBY', countsKey, c[1], c[2]) end
for _, l in ipairs(p.leases) do redis.call('ZADD', triageKey, l[1], l[2]) end
if p.wake == '' then redis.call('ZREM', dueKey, entity) else redis.call('ZADD', dueKey, p.wake, entity) end
return v + 1
`,
});

export const KEYS = {
  entity: (key: string) => `e:${key}`,
  index: "idx",
  outbox: "outbox",
  outboxData: "outbox:data",
  outboxSeq: "outbox:n",
  entities: "entities",
  due: "due",
  counts: "counts",
  triage: "triage",
  built: "meta:built",
  rebuilding: "meta:rebuilding",
  triageAttempts: "triage:attempts",
  maintenance: "maintenance",
  children: (parent: string) => `children:${parent}`,
  /** Probe site -> when the loop-detector last heard one of its trackers (ms). */
  sitesSeen: "sites:seen",
} as const;

// The newest time wins: two replicas hearing one site never move its time back.
const SITE_SEEN = defineLua("loopSiteSeen", {
  keys: ["seenKey"],
  args: ["site", "at"],
  body: `
local c = tonumber(redis.call('HGET', seenKey, site) or '0')
if tonumber(at) > c then redis.call('HSET', seenKey, site, at) end
return 1`,
});

/** The loop-detector's state in Redis (under its own key prefix). */
export class LoopStore {
  /** Told each wake-up time this replica writes (the ticker sleeps until the next one). */
  onWake: (at: number) => void = () => undefined;

  // Scripts run by EVALSHA after their first EVAL on the connection (runLua).
  constructor(readonly redis: Redis) {}

  async read(key: string): Promise<StoredEntity> {
    // One script, one command for the client to build and the server to parse (two plain reads
    // before); the commit compares the version anyway.
    const [v, doc, score] = (await runLua(
      this.redis,
      READ,
      { entityKey: KEYS.entity(key), dueKey: KEYS.due },
      { member: key },
    )) as [string | null, string | null, string | null];
    return {
      version: Number(v ?? 0),
      raw: doc ?? null,
      state: doc ? EntityState.parse(JSON.parse(doc)) : null,
      due: score === null ? null : Number(score),
    };
  }

  /** Writes `c` if the entity is still at `version`; false when someone else wrote first. */
  async commit(key: string, version: number, doc: string, c: Omit<Commit, "state">): Promise<boolean> {
    const payload = JSON.stringify({
      loopIds: c.loopIds,
      outbox: c.outbox.map((o) => [o.id, JSON.stringify(o)]),
      counts: c.counts,
      wake: c.wake === null ? "" : String(c.wake),
      leases: (c.leases ?? []).map(([at, id]) => [String(at), id]),
    });
    const keys = {
      entityKey: KEYS.entity(key),
      indexKey: KEYS.index,
      outboxKey: KEYS.outbox,
      outboxDataKey: KEYS.outboxData,
      outboxSeqKey: KEYS.outboxSeq,
      entitiesKey: KEYS.entities,
      dueKey: KEYS.due,
      countsKey: KEYS.counts,
      triageKey: KEYS.triage,
    };
    const r = await runLua(this.redis, COMMIT, keys, { expectedVersion: version, doc, entity: key, payload });
    if (Number(r) >= 0 && c.wake !== null) this.onWake(c.wake);
    return Number(r) >= 0;
  }

  /** The oldest outbox entries, in the order they were written. */
  async outboxBatch(limit = 100): Promise<OutboxEntry[]> {
    const ids = await this.redis.zrange(KEYS.outbox, "0", String(limit - 1));
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(KEYS.outboxData, ...ids);
    const out: OutboxEntry[] = [];
    for (const [i, r] of raw.entries()) {
      if (r) out.push(JSON.parse(r) as OutboxEntry);
      else await this.redis.zrem(KEYS.outbox, ids[i] as string);
    }
    return out;
  }

  async outboxDone(ids: string[]): Promise<void> {
    // No transaction needed: the data goes first (Redis runs a pipeline in order), and an id left
    // without its data is dropped by outboxBatch().
    if (ids.length) await Promise.all([this.redis.hdel(KEYS.outboxData, ...ids), this.redis.zrem(KEYS.outbox, ...ids)]);
  }

  /** The earliest wake-up time of an entity or a triage retry, or null when none waits. */
  async nextDue(): Promise<number | null> {
    const [e, t] = await Promise.all([
      this.redis.zrange(KEYS.due, "0", "0", "WITHSCORES"),
      this.redis.zrange(KEYS.triage, "0", "0", "WITHSCORES"),
    ]);
    const at = [e[1], t[1]].filter((x): x is string => x !== undefined).map(Number);
    return at.length ? Math.min(...at) : null;
  }

  /** Entities whose wake-up time has come. */
  dueEntities(now: number, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(KEYS.due, "-inf", now, "LIMIT", 0, limit);
  }

  /** Asks the tick to look at these entities now (a parent changed, for instance). */
  async wakeNow(keys: string[], now: number): Promise<void> {
    if (keys.length) await this.redis.zadd(KEYS.due, ...keys.flatMap((k) => [String(now), k]));
    if (keys.length) this.onWake(now);
  }

  entityOf(loopId: string): Promise<string | null> {
    return this.redis.hget(KEYS.index, loopId);
  }

  /** Every stored entity (for listing loops). */
  async allStates(): Promise<EntityState[]> {
    const keys = await this.redis.smembers(KEYS.entities);
    const out: EntityState[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500);
      const pipe = this.redis.pipeline();
      for (const k of batch) pipe.hget(KEYS.entity(k), "doc");
      for (const [, doc] of (await pipe.exec()) ?? [])
        if (typeof doc === "string") out.push(EntityState.parse(JSON.parse(doc)));
    }
    return out;
  }

  async counts(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(KEYS.counts);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }

  /** The key of every stored entity. */
  entityKeys(): Promise<string[]> {
    return this.redis.smembers(KEYS.entities);
  }

  async entityCount(): Promise<number> {
    return this.redis.scard(KEYS.entities);
  }

  /** Forgets an entity's wake-up time. */
  async clearDue(key: string): Promise<void> {
    await this.redis.zrem(KEYS.due, key);
  }

  /** Records that service `child` depends on `parent` (so a change of the parent wakes the child). */
  async addChild(parent: string, child: string): Promise<void> {
    await this.redis.sadd(KEYS.children(parent), child);
  }

  /** Records that a tracker of probe site `site` was heard at `at` (ms). */
  async siteSeen(site: string, at: number): Promise<void> {
    await runLua(this.redis, SITE_SEEN, { seenKey: KEYS.sitesSeen }, { site, at });
  }

  /** When each probe site was last heard (ms); `baseline` is written for sites never heard (so they can go silent too). */
  async sitesSeen(sites: readonly string[], baseline: number): Promise<Record<string, number>> {
    const seen = await this.redis.hgetall(KEYS.sitesSeen);
    const out: Record<string, number> = {};
    for (const site of sites) {
      const at = Number(seen[site]);
      if (Number.isFinite(at) && at > 0) out[site] = at;
      else {
        await this.redis.hsetnx(KEYS.sitesSeen, site, String(baseline));
        out[site] = baseline;
      }
    }
    return out;
  }

  childrenOf(parent: string): Promise<string[]> {
    return this.redis.smembers(KEYS.children(parent));
  }

  // Rebuild from JetStream: a marker that it was done (or not needed) and a lock among replicas.
  async isBuilt(): Promise<boolean> {
    return (await this.redis.exists(KEYS.built)) > 0;
  }

  async markBuilt(at: Date): Promise<void> {
    await this.redis.set(KEYS.built, at.toISOString());
  }

  /** True when this replica may rebuild (no other holds the lock for `ttlMs`). */
  async lockRebuild(holder: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(KEYS.rebuilding, holder, "PX", ttlMs, "NX")) === "OK";
  }

  async unlockRebuild(): Promise<void> {
    await this.redis.del(KEYS.rebuilding);
  }

  // Triage: the `triage` set holds each loop waiting for an answer with the time it is asked (again).
  async leaseTriage(loopId: string, at: number): Promise<void> {
    await this.redis.zadd(KEYS.triage, String(at), loopId);
    this.onWake(at);
  }

  /** Loops whose triage time has come. */
  triageDue(now: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(KEYS.triage, "-inf", now, "LIMIT", 0, limit);
  }

  /** Takes a due triage: true for the one replica whose ZREM removed it. */
  async claimTriage(loopId: string): Promise<boolean> {
    return (await this.redis.zrem(KEYS.triage, loopId)) === 1;
  }

  /** One more failed triage of the loop: the number of attempts so far. */
  triageFailed(loopId: string): Promise<number> {
    return this.redis.hincrby(KEYS.triageAttempts, loopId, 1);
  }

  async forgetTriageAttempts(loopId: string): Promise<void> {
    await this.redis.hdel(KEYS.triageAttempts, loopId);
  }

  /**
   * A triage answered: two plain commands (auto-pipelined into one write), not MULTI/EXEC: losing
   * the second to a dropped connection leaves only an attempt counter (a longer wait before a later re-ask).
   */
  async triageDone(loopId: string): Promise<void> {
    await Promise.all([this.redis.zrem(KEYS.triage, loopId), this.redis.hdel(KEYS.triageAttempts, loopId)]);
  }

  // Maintenance windows added at run time (name -> the stored window as JSON).
  runtimeWindows(): Promise<Record<string, string>> {
    return this.redis.hgetall(KEYS.maintenance);
  }

  /** False when a window of that name exists. */
  async addRuntimeWindow(name: string, json: string): Promise<boolean> {
    return (await this.redis.hsetnx(KEYS.maintenance, name, json)) === 1;
  }

  async removeRuntimeWindow(name: string): Promise<void> {
    await this.redis.hdel(KEYS.maintenance, name);
  }
}
