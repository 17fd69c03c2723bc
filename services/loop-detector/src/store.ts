import type { LoopEvent } from "@mirror/contracts";
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

// Optimistic compare-and-set: the transition, its index entries, its outbox events, the
// counters, the next wake-up and the triage leases of opened loops are written together or
// not at all, and only if nobody else wrote this entity since we read it. Two replicas
// therefore never double-open, and no opened loop is left without a triage lease.
const COMMIT_LUA = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return -1 end
local p = cjson.decode(ARGV[4])
redis.call('HSET', KEYS[1], 'v', v + 1, 'doc', ARGV[2])
redis.call('SADD', KEYS[6], ARGV[3])
for _, id in ipairs(p.loopIds) do redis.call('HSET', KEYS[2], id, ARGV[3]) end
for _, o in ipairs(p.outbox) do
  local n = redis.call('INCR', KEYS[5])
  redis.call('ZADD', KEYS[3], n, o[1])
  redis.call('HSET', KEYS[4], o[1], o[2])
end
for _, c in ipairs(p.counts) do redis.call('HINCRBY', KEYS[8], c[1], c[2]) end
for _, l in ipairs(p.leases) do redis.call('ZADD', KEYS[9], l[1], l[2]) end
if p.wake == '' then redis.call('ZREM', KEYS[7], ARGV[3]) else redis.call('ZADD', KEYS[7], p.wake, ARGV[3]) end
return v + 1
`;

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
} as const;

type Scripts = { loopCommit(...args: string[]): Promise<number> };

/** The loop-detector's state in Redis (under its own key prefix). */
export class LoopStore {
  constructor(readonly redis: Redis) {
    // EVALSHA: EVAL sent the script's text with every commit and Redis hashed it each time.
    redis.defineCommand("loopCommit", { numberOfKeys: 9, lua: COMMIT_LUA });
  }

  async read(key: string): Promise<StoredEntity> {
    // Two plain reads (auto-pipelined into one write), not MULTI/EXEC: the commit compares the
    // version anyway, and a stale wake-up time only makes a no-op write its own one again.
    const [[v, doc], score] = await Promise.all([this.redis.hmget(KEYS.entity(key), "v", "doc"), this.redis.zscore(KEYS.due, key)]);
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
    const keys = [KEYS.entity(key), KEYS.index, KEYS.outbox, KEYS.outboxData, KEYS.outboxSeq, KEYS.entities, KEYS.due, KEYS.counts, KEYS.triage];
    const r = await (this.redis as Redis & Scripts).loopCommit(...keys, String(version), doc, key, payload);
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

  /** Entities whose wake-up time has come. */
  dueEntities(now: number, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(KEYS.due, "-inf", now, "LIMIT", 0, limit);
  }

  /** Asks the tick to look at these entities now (a parent changed, for instance). */
  async wakeNow(keys: string[], now: number): Promise<void> {
    if (keys.length) await this.redis.zadd(KEYS.due, ...keys.flatMap((k) => [String(now), k]));
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
      for (const [, doc] of (await pipe.exec()) ?? []) if (typeof doc === "string") out.push(EntityState.parse(JSON.parse(doc)));
    }
    return out;
  }

  async counts(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(KEYS.counts);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }
}
