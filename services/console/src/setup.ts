import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Redis } from "ioredis";
import { KEYS } from "./keys.js";

const KEY = KEYS.setupToken;
const VALID_MS = 60 * 60 * 1000;
const digest = (s: string) => createHash("sha256").update(s).digest();

/** The one-time link that creates the first admin when no user exists: valid one hour, used once. */
export class SetupLink {
  constructor(private readonly redis: Redis) {}

  /** A new token (the previous one stops working). */
  async issue(): Promise<string> {
    const token = randomBytes(24).toString("base64url");
    await this.redis.set(KEY, digest(token).toString("base64url"), "PX", VALID_MS);
    return token;
  }

  async valid(token: unknown): Promise<boolean> {
    if (typeof token !== "string" || !token || token.length > 100) return false;
    const stored = await this.redis.get(KEY);
    return !!stored && timingSafeEqual(Buffer.from(stored, "base64url"), digest(token));
  }

  /** Uses the token up: true only for the one caller that presented it first. */
  async consume(token: unknown): Promise<boolean> {
    if (!(await this.valid(token))) return false;
    return (await this.redis.del(KEY)) === 1;
  }
}
