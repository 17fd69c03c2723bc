import { hash, randomUUID } from "node:crypto";
import { defineLua, runLua } from "@mirror/kit";
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

const COMMIT = defineLua("commitGroup", {
  keys: [
    "groupKey",
    "groupsDueKey",
    "deliveryKey",
    "deliveriesDueKey",
    "groupPendingKey",
    "counterKey",
    "loopKey",
    "activeKey",
    "claimKey",
  ],
  args: [
    "expectedGroup",
    "nextGroup",
    "groupId",
    "flushAt",
    "deliveryDoc",
    "deliveryId",
    "now",
    "loopRev",
    "loopRecord",
    "loopId",
    "labels",
    "ttlMs",
    "claimToken",
    "leaseMs",
  ],
  body: `
local seenRev = -1
if loopRev ~= '' then
  local seen = redis.call('GET', loopKey)
  if seen then seenRev = tonumber(cjson.decode(seen).rev) end
  if seenRev > tonumber(loopRev) then return 2 end
end
local cur = redis.call('GET', groupKey)
if (cur and redis.sha1hex(cur) or '') ~= expectedGroup then return 0 end
if nextGroup == '' then
  redis.call('DEL', groupKey); redis.call('ZREM', groupsDueKey, groupId)
else
  redis.call('SET', groupKey, nextGroup); redis.call('ZADD', groupsDueKey, flushAt, groupId)
end
local out = 1
if deliveryDoc ~= '' then
  redis.call('SET', deliveryKey, deliveryDoc)
  local busy = redis.call('ZCARD', groupPendingKey)
  redis.call('ZADD', groupPendingKey, redis.call('INCR', counterKey), deliveryId)
  if busy ~= 0 then redis.call('ZADD', deliveriesDueKey, ${PARKED}, deliveryId)
  elseif claimToken ~= '' and redis.call('SET', claimKey, claimToken, 'NX', 'PX', leaseMs) then
    redis.call('ZADD', deliveriesDueKey, tonumber(now) + tonumber(leaseMs), deliveryId)
    out = 3
  else redis.call('ZADD', deliveriesDueKey, now, deliveryId) end
end
if loopRecord ~= '' and seenRev < tonumber(loopRev) then
  if labels == '' then redis.call('HDEL', activeKey, loopId) else redis.call('HSET', activeKey, loopId, labels) end
  redis.call('SET', loopKey, loopRecord, 'PX', ttlMs)
end
return out`,
});

const ADD = defineLua("addDelivery", {
  keys: ["addedKey", "deliveryKey", "deliveriesDueKey", "groupPendingKey", "counterKey"],
  args: ["deliveryDoc", "deliveryId", "now"],
  body: `
if redis.call('SET', addedKey, '1', 'NX', 'PX', 604800000) == false then return 0 end
redis.call('SET', deliveryKey, deliveryDoc)
local busy = redis.call('ZCARD', groupPendingKey)
redis.call('ZADD', groupPendingKey, redis.call('INCR', counterKey), deliveryId)
if busy == 0 then redis.call('ZADD', deliveriesDueKey, now, deliveryId) else redis.call('ZADD', deliveriesDueKey, ${PARKED}, deliveryId) end
return 1`,
});

/** The due groups' ids, each with its stored document (false when gone), in one round trip. */
const DUE_GROUPS = defineLua("dueGroups", {
  keys: ["groupsDueKey", "groupPrefix"],
  args: ["now", "limit"],
  body: `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', groupsDueKey, '-inf', now, 'LIMIT', 0, tonumber(limit))) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('GET', groupPrefix .. id)
end
return out`,
});

/**
 * Claims due deliveries: a claim is a key with a token that the Redis server expires (its clock,
 * not a replica's), so a replica whose clock runs minutes ahead cannot take a delivery another
 * one holds. What is due but held elsewhere stays as it is: it is taken when that claim lapses.
 */
const CLAIM = defineLua("claimDeliveries", {
  keys: ["deliveriesDueKey", "claimPrefix", "deliveryPrefix", "sentPrefix"],
  args: ["now", "leaseUntil", "limit", "token", "leaseMs"],
  body: `
local ids = redis.call('ZRANGEBYSCORE', deliveriesDueKey, '-inf', now, 'LIMIT', 0, tonumber(limit))
local out = {}
for _, id in ipairs(ids) do
  if redis.call('SET', claimPrefix .. id, token, 'NX', 'PX', leaseMs) then
    redis.call('ZADD', deliveriesDueKey, leaseUntil, id)
    out[#out + 1] = id
    out[#out + 1] = redis.call('GET', deliveryPrefix .. id)
    out[#out + 1] = redis.call('GET', sentPrefix .. id)
  end
end
return out`,
});

/** A delivery sent by `attempt`: only its receipt is owed, by whoever holds it at `dueAt` (markSent). */
const MARK_SENT = defineLua("markSent", {
  keys: ["sentKey", "deliveriesDueKey"],
  args: ["id", "attempt", "ttlMs", "dueAt"],
  body: `redis.call('SET', sentKey, attempt, 'PX', ttlMs)
redis.call('ZADD', deliveriesDueKey, 'XX', dueAt, id)
return 1`,
});

/** Keeps a claim for `ms` more, only for its holder (the fencing check before a send). */
const HOLD = defineLua("holdClaim", {
  keys: ["claimKey"],
  args: ["token", "ms"],
  body: `
if redis.call('GET', claimKey) ~= token then return 0 end
redis.call('PEXPIRE', claimKey, ms)
return 1`,
});

/** Saves a delivery's next state and gives its claim back, only for the claim's holder. */
const SAVE = defineLua("saveClaimed", {
  keys: ["deliveryKey", "deliveriesDueKey", "claimKey"],
  args: ["token", "deliveryDoc", "dueAt", "deliveryId"],
  body: `
if redis.call('GET', claimKey) ~= token then return 0 end
redis.call('SET', deliveryKey, deliveryDoc)
redis.call('ZADD', deliveriesDueKey, 'XX', dueAt, deliveryId)
redis.call('DEL', claimKey)
return 1`,
});

const FINISH = defineLua("finishDelivery", {
  keys: ["deliveryKey", "deliveriesDueKey", "groupPendingKey", "sentKey", "claimKey"],
  args: ["deliveryId", "now"],
  body: `
redis.call('DEL', deliveryKey, sentKey, claimKey); redis.call('ZREM', deliveriesDueKey, deliveryId); redis.call('ZREM', groupPendingKey, deliveryId)
local nxt = redis.call('ZRANGE', groupPendingKey, 0, 0)
if nxt[1] then
  local sc = redis.call('ZSCORE', deliveriesDueKey, nxt[1])
  if sc and tonumber(sc) >= ${PARKED} then redis.call('ZADD', deliveriesDueKey, now, nxt[1]) end
end
return 1`,
});

const SET_LOOP = defineLua("setLoopIfNewer", {
  keys: ["loopKey", "activeKey"],
  args: ["rev", "record", "ttlMs", "loopId", "labels"],
  body: `
local cur = redis.call('GET', loopKey)
if cur then
  local doc = cjson.decode(cur)
  if tonumber(doc.rev) >= tonumber(rev) then return 0 end
end
if labels == '' then redis.call('HDEL', activeKey, loopId) else redis.call('HSET', activeKey, loopId, labels) end
redis.call('SET', loopKey, record, 'PX', ttlMs)
return 1`,
});

/** The notifier's key names (under its own prefix); only this module builds them. */
const KEYS = {
  group: (id: string) => `group:${id}`,
  groupPrefix: "group:",
  groupsDue: "groups:due",
  delivery: (id: string) => `delivery:${id}`,
  deliveryPrefix: "delivery:",
  noDelivery: "delivery:none",
  deliveriesDue: "deliveries:due",
  groupPending: (groupId: string) => `gpend:${groupId}`,
  counter: "deliveries:counter",
  loop: (id: string) => `loop:${id}`,
  noLoop: "loop:none",
  added: (id: string) => `added:${id}`,
  claimPrefix: "claim:",
  claim: (id: string) => `claim:${id}`,
  sent: (id: string) => `sent:${id}`,
  sentPrefix: "sent:",
  active: "active",
  rate: (channel: string, window: number) => `rate:${channel}:${window}`,
  digestNext: "digest:next",
  digestComposing: (slot: number) => `digest:composing:${slot}`,
} as const;

/** A claim asked for with a commit: its holder's token and how long the server keeps it (ms). */
export interface CommitClaim {
  token: string;
  lease: number;
}

/** What the notifier remembers about a loop: the newest revision seen and the groups it is in. */
export interface LoopRecord {
  rev: number;
  groups: string[];
}

/** The loop revision a group change carries, and optionally the loop's record to save with it (see saveLoop()). */
export interface LoopRevision {
  id: string;
  rev: number;
  record?: { rec: LoopRecord; activeLabels: Record<string, string> | null };
}

/** A group as read: its stored text (what a compare-and-set compares) and its parsed state. */
export interface LoadedGroup {
  raw: string;
  group: GroupState | undefined;
}

const loaded = (raw: string | null): LoadedGroup => ({
  raw: raw ?? "",
  group: raw ? (JSON.parse(raw) as GroupState) : undefined,
});

const LOOP_TTL_MS = 30 * 86_400_000;
/** A "sent" mark outlives any delivery it can belong to (finishing one deletes it with the document). */
const SENT_TTL_MS = 7 * 86_400_000;

/** Everything the notifier still owes, in Redis, changed only by atomic scripts (safe with replicas and crashes). */
export class NotifierStore {
  private readonly r: Redis;
  constructor(redis: Redis) {
    this.r = redis;
  }

  get redis(): Redis {
    return this.r;
  }

  async loadGroup(id: string): Promise<LoadedGroup> {
    return loaded(await this.r.get(KEYS.group(id)));
  }

  /**
   * Writes a group (or deletes it: null) and creates its delivery, only if the group is still `raw`
   * ("conflict" otherwise) and, with `loop`, only if no newer revision of that loop was recorded
   * meanwhile ("stale": a replica that took a newer event of the loop got there first). With
   * `loop.record`, the loop's record is saved in the same step, as saveLoop() would (a loop in one
   * group: one script per event instead of two). With `claim`, a delivery that is due at once
   * (not parked behind an earlier one of its group) is claimed in the same step, as
   * claimDeliveries() would ("claimed"): its sender needs no claim round trip.
   */
  async commitGroup(
    id: string,
    raw: string,
    next: GroupState | null,
    delivery: Delivery | null,
    now: number,
    loop?: LoopRevision,
    claim?: CommitClaim,
  ): Promise<"ok" | "claimed" | "conflict" | "stale"> {
    const keys = {
      groupKey: KEYS.group(id),
      groupsDueKey: KEYS.groupsDue,
      deliveryKey: delivery ? KEYS.delivery(delivery.id) : KEYS.noDelivery,
      deliveriesDueKey: KEYS.deliveriesDue,
      groupPendingKey: KEYS.groupPending(id),
      counterKey: KEYS.counter,
      loopKey: loop ? KEYS.loop(loop.id) : KEYS.noLoop,
      activeKey: KEYS.active,
      claimKey: delivery ? KEYS.claim(delivery.id) : KEYS.noDelivery,
    };
    const record = loop?.record;
    const args = {
      // The group as read, by its SHA-1: the document itself is in the store already, and its
      // bytes are what a commit would otherwise send twice (socket writes are the notifier's
      // largest cost after GC).
      expectedGroup: raw ? hash("sha1", raw) : "",
      nextGroup: next ? JSON.stringify(next) : "",
      groupId: id,
      flushAt: next ? next.nextFlushAt : 0,
      deliveryDoc: delivery ? JSON.stringify(delivery) : "",
      deliveryId: delivery?.id ?? "",
      now,
      loopRev: loop ? loop.rev : "",
      loopRecord: record ? JSON.stringify(record.rec) : "",
      loopId: loop?.id ?? "",
      labels: record?.activeLabels ? JSON.stringify(record.activeLabels) : "",
      ttlMs: LOOP_TTL_MS,
      claimToken: claim?.token ?? "",
      leaseMs: claim?.lease ?? 0,
    };
    const r = await runLua(this.r, COMMIT, keys, args);
    return r === 1 ? "ok" : r === 3 ? "claimed" : r === 2 ? "stale" : "conflict";
  }

  /** Adds a delivery that belongs to no group flush (digests); a second add of the same id is a no-op for 7 days. */
  async addDelivery(d: Delivery, now: number): Promise<boolean> {
    const keys = {
      addedKey: KEYS.added(d.id),
      deliveryKey: KEYS.delivery(d.id),
      deliveriesDueKey: KEYS.deliveriesDue,
      groupPendingKey: KEYS.groupPending(d.groupId),
      counterKey: KEYS.counter,
    };
    return (await runLua(this.r, ADD, keys, { deliveryDoc: JSON.stringify(d), deliveryId: d.id, now })) === 1;
  }

  /** The earliest due time of a group, a delivery (retry or claim end) or the digest; null when nothing waits. */
  async nextDue(): Promise<number | null> {
    const [g, d, digest] = await Promise.all([
      this.r.zrange(KEYS.groupsDue, "0", "0", "WITHSCORES"),
      this.r.zrange(KEYS.deliveriesDue, "0", "0", "WITHSCORES"),
      this.r.get(KEYS.digestNext),
    ]);
    const at = [g[1], d[1], digest ?? undefined].filter((x): x is string => x !== undefined).map(Number);
    return at.length ? Math.min(...at) : null;
  }

  /** Up to `limit` groups due at `now`, each as stored (the first read of its compare-and-set). */
  async dueGroups(now: number, limit = 100): Promise<{ id: string; loaded: LoadedGroup }[]> {
    const flat = (await runLua(
      this.r,
      DUE_GROUPS,
      { groupsDueKey: KEYS.groupsDue, groupPrefix: KEYS.groupPrefix },
      { now, limit },
    )) as (string | null)[];
    const out: { id: string; loaded: LoadedGroup }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ id: flat[i] as string, loaded: loaded(flat[i + 1] ?? null) });
    return out;
  }

  /**
   * Takes due deliveries for `leaseMs` of the Redis server's time (another replica or a restart
   * takes them back after that), with their stored documents (undefined when gone), read by the
   * same script. `token` fences the claim: holdClaim() and saveClaimed() act only
   * for the claim's holder, so a replica that lost its claim (stalled past the lease) cannot
   * send or overwrite what the replica that took over does.
   */
  async claimDeliveries(
    now: number,
    leaseMs: number,
    limit = 50,
    token: string = randomUUID(),
  ): Promise<{ id: string; delivery: Delivery | undefined; token: string }[]> {
    // Each claimed id with its document and its "sent" mark (markSent), all in the claim's round trip.
    const flat = (await runLua(
      this.r,
      CLAIM,
      {
        deliveriesDueKey: KEYS.deliveriesDue,
        claimPrefix: KEYS.claimPrefix,
        deliveryPrefix: KEYS.deliveryPrefix,
        sentPrefix: KEYS.sentPrefix,
      },
      { now, leaseUntil: now + leaseMs, limit, token, leaseMs },
    )) as (string | null)[];
    const out: { id: string; delivery: Delivery | undefined; token: string }[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const [id, doc, sent] = [flat[i] as string, flat[i + 1], flat[i + 2]];
      if (!doc) {
        out.push({ id, delivery: undefined, token });
        continue;
      }
      const d = JSON.parse(doc) as Delivery;
      out.push({ id, delivery: sent ? { ...d, state: "sent", attempt: Number(sent), lastError: null } : d, token });
    }
    return out;
  }

  /** Saves a delivery's new state and when to try it next. */
  async saveDelivery(d: Delivery, dueAt: number): Promise<void> {
    await this.r.multi().set(KEYS.delivery(d.id), JSON.stringify(d)).zadd(KEYS.deliveriesDue, "XX", dueAt, d.id).exec();
  }

  /** saveDelivery() for the holder of the claim `token` only, giving the claim back; false: the claim was lost. */
  async saveClaimed(d: Delivery, dueAt: number, token: string): Promise<boolean> {
    const keys = { deliveryKey: KEYS.delivery(d.id), deliveriesDueKey: KEYS.deliveriesDue, claimKey: KEYS.claim(d.id) };
    return (await runLua(this.r, SAVE, keys, { token, deliveryDoc: JSON.stringify(d), dueAt, deliveryId: d.id })) === 1;
  }

  /** Extends the claim `token` on a delivery by `ms` of server time; false: it is no longer held by `token`. */
  async holdClaim(id: string, token: string, ms: number): Promise<boolean> {
    return (await runLua(this.r, HOLD, { claimKey: KEYS.claim(id) }, { token, ms: Math.max(1, Math.round(ms)) })) === 1;
  }

  /**
   * Marks a delivery as sent by attempt `attempt` (only its receipt is still owed) and when another
   * process may publish that receipt instead. A small key beside the document, not the document
   * written again with its whole message; both in one script (one command for the client to make
   * and the server to parse, not two).
   */
  async markSent(id: string, attempt: number, dueAt: number): Promise<void> {
    await runLua(
      this.r,
      MARK_SENT,
      { sentKey: KEYS.sent(id), deliveriesDueKey: KEYS.deliveriesDue },
      { id, attempt, ttlMs: SENT_TTL_MS, dueAt },
    );
  }

  /** Forgets a delivery that is done (sent or given up) and lets the group's next one go. */
  async finishDelivery(d: Delivery, now: number): Promise<void> {
    const keys = {
      deliveryKey: KEYS.delivery(d.id),
      deliveriesDueKey: KEYS.deliveriesDue,
      groupPendingKey: KEYS.groupPending(d.groupId),
      sentKey: KEYS.sent(d.id),
      claimKey: KEYS.claim(d.id),
    };
    await runLua(this.r, FINISH, keys, { deliveryId: d.id, now });
  }

  pendingDeliveries(): Promise<number> {
    return this.r.zcard(KEYS.deliveriesDue);
  }

  /** A loop's record and several groups in one MGET (the groups in the order of `groupIds`). */
  async loadLoopAndGroups(
    loopId: string,
    groupIds: string[],
  ): Promise<{ loop: LoopRecord | undefined; groups: LoadedGroup[] }> {
    const [loop, ...groups] = await this.r.mget([KEYS.loop(loopId), ...groupIds.map(KEYS.group)]);
    return { loop: loop ? (JSON.parse(loop) as LoopRecord) : undefined, groups: groups.map(loaded) };
  }

  /**
   * Records a loop's revision unless a newer one is already recorded, and with it (atomically)
   * its labels among the firing loops' (for inhibition), or removes them (null: not firing).
   */
  async saveLoop(id: string, rec: LoopRecord, activeLabels: Record<string, string> | null): Promise<boolean> {
    const args = {
      rev: rec.rev,
      record: JSON.stringify(rec),
      ttlMs: LOOP_TTL_MS,
      loopId: id,
      labels: activeLabels ? JSON.stringify(activeLabels) : "",
    };
    return (await runLua(this.r, SET_LOOP, { loopKey: KEYS.loop(id), activeKey: KEYS.active }, args)) === 1;
  }

  async activeLabels(): Promise<Record<string, string>[]> {
    const all = await this.r.hvals(KEYS.active);
    return all.map((v) => JSON.parse(v) as Record<string, string>);
  }

  /** Counts one more send in a channel's fixed rate window (shared by the replicas); the count so far. */
  async countInWindow(channel: string, window: number, ttlMs: number): Promise<number> {
    const key = KEYS.rate(channel, window);
    const [[, count]] = (await this.r.multi().incr(key).pexpire(key, ttlMs).exec()) as [[null, number]];
    return count;
  }

  /** When the next digest is due (ms), or null before the first one is planned. */
  async nextDigestAt(): Promise<number | null> {
    const stored = await this.r.get(KEYS.digestNext);
    return stored === null ? null : Number(stored);
  }

  async planDigest(at: number): Promise<void> {
    await this.r.set(KEYS.digestNext, String(at));
  }

  /** True for the one replica that composes the digest of `slot` (a marker that lapses after `ttlMs` of server time). */
  async claimDigest(slot: number, ttlMs: number): Promise<boolean> {
    return (await this.r.set(KEYS.digestComposing(slot), "1", "PX", ttlMs, "NX")) !== null;
  }
}
