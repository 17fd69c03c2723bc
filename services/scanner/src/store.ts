import type { Redis } from "ioredis";

/** The scanner's Redis keys (under its own prefix): the only module that names them. */
const KEYS = {
  /** Hash of the repos seen (repoKey -> {path, seq}), so a repo removed while we were down still gets `repo.gone`. */
  known: "known",
} as const;

/** What is remembered of a published repo: where it is and the seq of its last event. */
export interface KnownRecord {
  path: string;
  seq: number;
}

export async function knownRepos(redis: Redis): Promise<Map<string, KnownRecord>> {
  const all = await redis.hgetall(KEYS.known);
  return new Map(Object.entries(all).map(([key, json]) => [key, JSON.parse(json) as KnownRecord]));
}

export async function rememberRepo(redis: Redis, key: string, rec: KnownRecord): Promise<void> {
  await redis.hset(KEYS.known, key, JSON.stringify(rec));
}

export async function forgetRepo(redis: Redis, key: string): Promise<void> {
  await redis.hdel(KEYS.known, key);
}
