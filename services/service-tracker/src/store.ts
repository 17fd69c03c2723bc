import { defineLua, runLua } from "@mirror/kit";
import type { Redis } from "ioredis";

/**
 * The tracker's Redis keys (under its own prefix): the only module that names them. The tracker,
 * the heartbeat monitor, the ping keys and mesh discovery keep their state through these functions.
 */
const KEYS = {
  /** Check name -> `{ state, since }` of its last published status. */
  states: "states",
  /** Mesh member name -> when it last answered `$SRV.PING` (ms). */
  members: "mesh:members",
  /** Heartbeat name -> its ping key. */
  pingKeys: "heartbeat:pingkeys",
  /** One hash per heartbeat: lastPingAt, lastStartAt, lastFailAt, watchingSince. */
  heartbeat: (name: string) => `heartbeat:${name}`,
} as const;

/** Sets a hash field only when the new time is later, so replays and races never move time back. */
const SET_LATER = defineLua("trackerSetLater", {
  keys: ["heartbeatKey"],
  args: ["field", "at"],
  body: `
local cur = tonumber(redis.call('HGET', heartbeatKey, field) or '-1')
if tonumber(at) > cur then redis.call('HSET', heartbeatKey, field, at) return 1 end
return 0`,
});

export const savedStates = (redis: Redis): Promise<Record<string, string>> => redis.hgetall(KEYS.states);
export const saveState = (redis: Redis, name: string, json: string): Promise<number> =>
  redis.hset(KEYS.states, name, json);
export const forgetState = (redis: Redis, name: string): Promise<number> => redis.hdel(KEYS.states, name);

export const knownMembers = (redis: Redis): Promise<Record<string, string>> => redis.hgetall(KEYS.members);
export const membersSeen = (redis: Redis, seen: Record<string, string>): Promise<number> =>
  redis.hset(KEYS.members, seen);
export const forgetMember = (redis: Redis, name: string): Promise<number> => redis.hdel(KEYS.members, name);

/** Gives each of `names` a ping key if it has none (HSETNX: replicas starting together agree on one), then reads them all. */
export async function ensurePingKeys(
  redis: Redis,
  names: readonly string[],
  make: () => string,
): Promise<Record<string, string>> {
  if (names.length) {
    const pipe = redis.pipeline();
    for (const name of names) pipe.hsetnx(KEYS.pingKeys, name, make());
    await pipe.exec();
  }
  return redis.hgetall(KEYS.pingKeys);
}

/** A heartbeat's stored times, marking now as when watching began if it never was. */
export async function loadHeartbeat(redis: Redis, name: string, now: number): Promise<Record<string, string>> {
  await redis.hsetnx(KEYS.heartbeat(name), "watchingSince", String(now));
  return redis.hgetall(KEYS.heartbeat(name));
}

/** Records a heartbeat time in `field` unless a later one is stored. */
export const recordHeartbeat = (redis: Redis, name: string, field: string, at: number): Promise<unknown> =>
  runLua(redis, SET_LATER, { heartbeatKey: KEYS.heartbeat(name) }, { field, at });
