import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { ensurePingKeys } from "../store.js";

/** A new ping key: 16 random bytes as base64url (22 characters), as unguessable as a UUIDv4 and more. */
export function newPingKey(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * Each heartbeat check's ping key, as Healthchecks.io gives each check a UUID: made once with
 * HSETNX (replicas starting together agree on one) and kept in the tracker's Redis keys, so it
 * survives restarts; a check removed from the config keeps its key until the hash is cleared.
 */
export class PingKeys {
  private readonly byName = new Map<string, string>();
  private readonly byKey = new Map<string, string>();

  /** Makes the keys of `names` that have none, then loads every key. */
  async load(store: Redis, names: readonly string[]): Promise<void> {
    const saved = await ensurePingKeys(store, names, newPingKey);
    const wanted = new Set(names);
    for (const [name, key] of Object.entries(saved)) {
      if (!wanted.has(name)) continue;
      this.byName.set(name, key);
      this.byKey.set(key, name);
    }
  }

  /** The heartbeat a ping key belongs to; undefined for any other string. */
  nameOf(key: string): string | undefined {
    return this.byKey.get(key);
  }

  keyOf(name: string): string | undefined {
    return this.byName.get(name);
  }
}
