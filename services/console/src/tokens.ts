import { randomBytes } from "node:crypto";
import type { ConsoleToken } from "@mirror/contracts";
import type { Redis } from "ioredis";
import { ConsoleError } from "./errors.js";
import { digestOf, KEYS } from "./keys.js";

const digest = digestOf;
const key = (token: string) => KEYS.token(digest(token));
const userKey = KEYS.userTokens;
/** Tokens start with this, so a leaked one is recognisable (and secret scanners can find it). */
const PREFIX = "mirror_ct_";

interface StoredToken {
  user: string;
  name: string;
  createdAt: string;
}

/** Per-user API tokens for scripts: only their SHA-256 is stored; the token itself is shown once. */
export class TokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly now: () => number,
  ) {}

  async create(user: string, name: string): Promise<{ token: string; info: ConsoleToken }> {
    if ((await this.list(user)).some((t) => t.name === name))
      throw new ConsoleError("MIRROR_ERR_TOKEN_EXISTS", `${user} already has a token named ${name}`);
    const token = `${PREFIX}${randomBytes(32).toString("base64url")}`;
    const info: ConsoleToken = { user, name, createdAt: new Date(this.now()).toISOString() };
    await this.redis.multi().set(key(token), JSON.stringify(info)).hset(userKey(user), name, digest(token)).exec();
    return { token, info };
  }

  async list(user: string): Promise<ConsoleToken[]> {
    const byName = await this.redis.hgetall(userKey(user));
    const infos = await Promise.all(Object.values(byName).map((d) => this.redis.get(KEYS.token(d))));
    return infos
      .filter((t): t is string => !!t)
      .map((t) => JSON.parse(t) as ConsoleToken)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async revoke(user: string, name: string): Promise<ConsoleToken> {
    const d = await this.redis.hget(userKey(user), name);
    const text = d ? await this.redis.get(KEYS.token(d)) : null;
    if (!d || !text) throw new ConsoleError("MIRROR_ERR_NO_TOKEN", `${user} has no token named ${name}`);
    await this.redis.multi().del(KEYS.token(d)).hdel(userKey(user), name).exec();
    return JSON.parse(text) as ConsoleToken;
  }

  /** Every token of a removed user. */
  async revokeUser(user: string): Promise<void> {
    const digests = Object.values(await this.redis.hgetall(userKey(user)));
    if (digests.length) await this.redis.del(...digests.map(KEYS.token));
    await this.redis.del(userKey(user));
  }

  /** The user a bearer token belongs to, if it is one of ours. */
  async userOf(token: string): Promise<string | undefined> {
    if (!token.startsWith(PREFIX) || token.length > 200) return undefined;
    const text = await this.redis.get(key(token));
    return text ? (JSON.parse(text) as StoredToken).user : undefined;
  }
}
