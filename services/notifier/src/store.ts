import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { GroupState } from "./group.js";
import type { Message } from "./message.js";

/** A message owed to one channel, kept in Redis until it is sent or given up. */
export interface Delivery {
  /** Idempotency key: stays the same across retries and restarts (Standard Webhooks `webhook-id`). */
  id: string;
  channel: string;
  groupId: string;
  message: Message;
  createdAt: number;
  attempt: number;
  /** `sent`: delivered, only the receipt is still owed. */
  state: "pending" | "sent" | "failed";
  lastError: string | null;
  /** Trace context of the loop event behind it: the request (and its client span) joins that trace. */
  trace?: Record<string, string>;
}

/** Score of a delivery that waits for an earlier one of the same group (messages of a group go out in order). */
export const PARKED = 9e15;

const COMMIT = `
if ARGV[8] ~= '' then
  local seen = redis.call('GET', KEYS[7])
  if seen and tonumber(cjson.decode(seen).rev) > tonumber(ARGV[8]) then return 2 end
end
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1]); redis.call('ZREM', KEYS[2], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2]); redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[3], ARGV[5])
  local busy = redis.call('ZCARD', KEYS[5])
  redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[6]), ARGV[6])
  if busy == 0 then redis.call('ZADD', KEYS[4], ARGV[7], ARGV[6]) else redis.call('ZADD', KEYS[4], ${PARKED}, ARGV[6]) end
end
return 1`;

const ADD = `
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', 604800000) == false then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
local busy = redis.call('ZCARD', KEYS[4])
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[5]), ARGV[2])
if busy == 0 then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2]) else redis.call('ZADD', KEYS[3], ${PARKED}, ARGV[2]) end
return 1`;

/**
 * Claims due deliveries: a claim is a key with a token that the Redis server expires (its clock,
 * not a replica's), so a replica whose clock runs minutes ahead cannot take a delivery another
 * one holds. What is due but held elsewhere stays as it is: it is taken when that claim lapses.
 */
const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  if redis.call('SET', KEYS[2] .. id, ARGV[4], 'NX', 'PX', ARGV[5]) then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(out, id)
  end
end
return out`;

/** Keeps a claim for ARGV[2] ms more, only for its holder (the fencing check before a send). */
const HOLD = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** Saves a delivery's next state and gives its claim back, only for the claim's holder. */
const SAVE = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[4])
redis.call('DEL', KEYS[3])
return 1`;

const FINISH = `
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5]); redis.call('ZREM', KEYS[2], ARGV[1]); redis.call('ZREM', KEYS[3], ARGV[1])
local nxt = redis.call('ZRANGE', KEYS[3], 0, 0)
if nxt[1] then
  local sc = redis.call('ZSCORE', KEYS[2], nxt[1])
  if sc and tonumber(sc) >= ${PARKED} then redis.call('ZADD', KEYS[2], ARGV[2], nxt[1]) end
end
return 1`;

const SET_MAX = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local doc = cjson.decode(cur)
  if tonumber(doc.rev) >= tonumber(ARGV[1]) then return 0 end
end
if ARGV[5] == '' then redis.call('HDEL', KEYS[2], ARGV[4]) else redis.call('HSET', KEYS[2], ARGV[4], ARGV[5]) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

type Scripts = {
  commitGroup(...args: (string | number)[]): Promise<number>;
  claimDeliveries(...args: (string | number)[]): Promise<string[]>;
  holdClaim(...args: (string | number)[]): Promise<number>;
  saveClaimed(...args: (string | number)[]): Promise<number>;
  addDelivery(...args: (string | number)[]): Promise<number>;
  finishDelivery(...args: (string | number)[]): Promise<number>;
  setLoopIfNewer(...args: (string | number)[]): Promise<number>;
};

/** What the notifier remembers about a loop: the newest revision seen and the groups it is in. */
export interface LoopRecord {
  rev: number;
  groups: string[];
}

/** A group as read: its stored text (what a compare-and-set compares) and its parsed state. */
export interface LoadedGroup {
  raw: string;
  group: GroupState | undefined;
}

const loaded = (raw: string | null): LoadedGroup => ({ raw: raw ?? "", group: raw ? (JSON.parse(raw) as GroupState) : undefined });

const LOOP_TTL_MS = 30 * 86_400_000;
/** A "sent" mark outlives any delivery it can belong to (finishing one deletes it with the document). */
const SENT_TTL_MS = 7 * 86_400_000;

/** Everything the notifier still owes, in Redis, changed only by atomic scripts (safe with replicas and crashes). */
export class NotifierStore {
  private readonly r: Redis & Scripts;
  constructor(redis: Redis) {
    redis.defineCommand("commitGroup", { numberOfKeys: 7, lua: COMMIT });
    redis.defineCommand("claimDeliveries", { numberOfKeys: 2, lua: CLAIM });
    redis.defineCommand("holdClaim", { numberOfKeys: 1, lua: HOLD });
    redis.defineCommand("saveClaimed", { numberOfKeys: 3, lua: SAVE });
    redis.defineCommand("addDelivery", { numberOfKeys: 5, lua: ADD });
    redis.defineCommand("finishDelivery", { numberOfKeys: 5, lua: FINISH });
    redis.defineCommand("setLoopIfNewer", { numberOfKeys: 2, lua: SET_MAX });
    this.r = redis as Redis & Scripts;
  }

  get redis(): Redis {
    return this.r;
  }

  async loadGroup(id: string): Promise<LoadedGroup> {
    return loaded(await this.r.get(`group:${id}`));
  }

  /** Several groups in one round trip (MGET), in the order of `ids`. */
  async loadGroups(ids: string[]): Promise<LoadedGroup[]> {
    if (ids.length === 0) return [];
    return (await this.r.mget(ids.map((id) => `group:${id}`))).map(loaded);
  }

  /**
   * Writes a group (or deletes it: null) and creates its delivery, only if the group is still `raw`
   * ("conflict" otherwise) and, with `loop`, only if no newer revision of that loop was recorded
   * meanwhile ("stale": a replica that took a newer event of the loop got there first).
   */
  async commitGroup(id: string, raw: string, next: GroupState | null, delivery: Delivery | null, now: number, loop?: { id: string; rev: number }): Promise<"ok" | "conflict" | "stale"> {
    const keys = [`group:${id}`, "groups:due", delivery ? `delivery:${delivery.id}` : "delivery:none", "deliveries:due", `gpend:${id}`, "deliveries:counter", loop ? `loop:${loop.id}` : "loop:none"];
    const args = [raw, next ? JSON.stringify(next) : "", id, next ? next.nextFlushAt : 0, delivery ? JSON.stringify(delivery) : "", delivery?.id ?? "", now, loop ? loop.rev : ""];
    const r = await this.r.commitGroup(...keys, ...args);
    return r === 1 ? "ok" : r === 2 ? "stale" : "conflict";
  }

  /** Adds a delivery that belongs to no group flush (digests); a second add of the same id is a no-op for 7 days. */
  async addDelivery(d: Delivery, now: number): Promise<boolean> {
    const keys = [`added:${d.id}`, `delivery:${d.id}`, "deliveries:due", `gpend:${d.groupId}`, "deliveries:counter"];
    return (await this.r.addDelivery(...keys, JSON.stringify(d), d.id, now)) === 1;
  }

  dueGroups(now: number, limit = 100): Promise<string[]> {
    return this.r.zrangebyscore("groups:due", "-inf", now, "LIMIT", 0, limit);
  }

  /**
   * Takes due deliveries for `leaseMs` of the Redis server's time (another replica or a restart
   * takes them back after that), with their stored documents (undefined when gone), read in one
   * MGET for the whole batch. `token` fences the claim: holdClaim() and saveClaimed() act only
   * for the claim's holder, so a replica that lost its claim (stalled past the lease) cannot
   * send or overwrite what the replica that took over does.
   */
  async claimDeliveries(now: number, leaseMs: number, limit = 50, token: string = randomUUID()): Promise<{ id: string; delivery: Delivery | undefined; token: string }[]> {
    const ids = await this.r.claimDeliveries("deliveries:due", "claim:", now, now + leaseMs, limit, token, leaseMs);
    if (ids.length === 0) return [];
    // Each delivery's document and its "sent" mark (markSent), in one MGET.
    const docs = await this.r.mget(ids.flatMap((id) => [`delivery:${id}`, `sent:${id}`]));
    return ids.map((id, i) => {
      const doc = docs[2 * i];
      const sent = docs[2 * i + 1];
      if (!doc) return { id, delivery: undefined, token };
      const d = JSON.parse(doc) as Delivery;
      return { id, delivery: sent ? { ...d, state: "sent", attempt: Number(sent), lastError: null } : d, token };
    });
  }

  /** Saves a delivery's new state and when to try it next. */
  async saveDelivery(d: Delivery, dueAt: number): Promise<void> {
    await this.r.multi().set(`delivery:${d.id}`, JSON.stringify(d)).zadd("deliveries:due", "XX", dueAt, d.id).exec();
  }

  /** saveDelivery() for the holder of the claim `token` only, giving the claim back; false: the claim was lost. */
  async saveClaimed(d: Delivery, dueAt: number, token: string): Promise<boolean> {
    return (await this.r.saveClaimed(`delivery:${d.id}`, "deliveries:due", `claim:${d.id}`, token, JSON.stringify(d), dueAt, d.id)) === 1;
  }

  /** Extends the claim `token` on a delivery by `ms` of server time; false: it is no longer held by `token`. */
  async holdClaim(id: string, token: string, ms: number): Promise<boolean> {
    return (await this.r.holdClaim(`claim:${id}`, token, Math.max(1, Math.round(ms)))) === 1;
  }

  /**
   * Marks a delivery as sent by attempt `attempt` (only its receipt is still owed) and when another
   * process may publish that receipt instead. A small key beside the document, not the document
   * written again with its whole message; two plain commands (one write): if the second is lost
   * with the connection, the claim's own lease brings the delivery back a little later, still
   * marked sent.
   */
  async markSent(id: string, attempt: number, dueAt: number): Promise<void> {
    await Promise.all([this.r.set(`sent:${id}`, String(attempt), "PX", SENT_TTL_MS), this.r.zadd("deliveries:due", "XX", dueAt, id)]);
  }

  /** Forgets a delivery that is done (sent or given up) and lets the group's next one go. */
  async finishDelivery(d: Delivery, now: number): Promise<void> {
    await this.r.finishDelivery(`delivery:${d.id}`, "deliveries:due", `gpend:${d.groupId}`, `sent:${d.id}`, `claim:${d.id}`, d.id, now);
  }

  pendingDeliveries(): Promise<number> {
    return this.r.zcard("deliveries:due");
  }

  /** A loop's record and several groups in one MGET (the groups in the order of `groupIds`). */
  async loadLoopAndGroups(loopId: string, groupIds: string[]): Promise<{ loop: LoopRecord | undefined; groups: LoadedGroup[] }> {
    const [loop, ...groups] = await this.r.mget([`loop:${loopId}`, ...groupIds.map((id) => `group:${id}`)]);
    return { loop: loop ? (JSON.parse(loop) as LoopRecord) : undefined, groups: groups.map(loaded) };
  }

  /**
   * Records a loop's revision unless a newer one is already recorded, and with it (atomically)
   * its labels among the firing loops' (for inhibition), or removes them (null: not firing).
   */
  async saveLoop(id: string, rec: LoopRecord, activeLabels: Record<string, string> | null): Promise<boolean> {
    return (await this.r.setLoopIfNewer(`loop:${id}`, "active", rec.rev, JSON.stringify(rec), LOOP_TTL_MS, id, activeLabels ? JSON.stringify(activeLabels) : "")) === 1;
  }

  async activeLabels(): Promise<Record<string, string>[]> {
    const all = await this.r.hvals("active");
    return all.map((v) => JSON.parse(v) as Record<string, string>);
  }
}
