import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { KEYS } from "./keys.js";

export interface Session {
  user: string;
  csrf: string;
  createdAt: string;
}

/** How long a form's notice waits for its page (the redirect follows at once). */
const FLASH_TTL_MS = 60_000;

/** Only a digest of the cookie is a key (KEYS.session): reading Redis does not give anyone a session. */
const key = KEYS.session;
const userKey = KEYS.userSessions;

/** Server-side sessions with a sliding expiry; all of a user's sessions end when the user is removed or changes password. */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** A new idle lifetime from a config reload: a session gets it when it is next used (or made). */
  set ttl(ms: number) {
    this.ttlMs = ms;
  }

  /** A new session; returns the cookie value (the only copy of the id). */
  async create(user: string): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString("base64url");
    const session: Session = {
      user,
      csrf: randomBytes(24).toString("base64url"),
      createdAt: new Date(this.now()).toISOString(),
    };
    await this.redis
      .multi()
      .set(key(id), JSON.stringify(session), "PX", this.ttlMs)
      .sadd(userKey(user), key(id))
      .pexpire(userKey(user), this.ttlMs)
      .exec();
    return { id, session };
  }

  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id || id.length > 200) return undefined;
    const text = await this.redis.get(key(id));
    if (!text) return undefined;
    const session = JSON.parse(text) as Session;
    // The user's index lives as long as their newest session, so revoking finds every live one.
    await this.redis.multi().pexpire(key(id), this.ttlMs).pexpire(userKey(session.user), this.ttlMs).exec();
    return session;
  }

  async destroy(id: string | undefined): Promise<void> {
    if (id) await this.redis.del(key(id), KEYS.flash(id));
  }

  /**
   * Keeps a form's notice for the next page this session loads: the form's answer is a redirect
   * (303) to its page, so a reload shows the page again instead of sending the form again.
   */
  async flash(id: string, notice: string): Promise<void> {
    await this.redis.set(KEYS.flash(id), notice.slice(0, 2_000), "PX", FLASH_TTL_MS);
  }

  /** The notice kept for this session, once (read and removed). */
  async takeFlash(id: string | undefined): Promise<string | undefined> {
    if (!id || id.length > 200) return undefined;
    return (await this.redis.getdel(KEYS.flash(id))) ?? undefined;
  }

  /** Ends every session of `user` (removed, or a new password). */
  async revokeUser(user: string): Promise<void> {
    const keys = await this.redis.smembers(userKey(user));
    // The set holds unprefixed names, as every command does: the client adds the prefix to both.
    if (keys.length) await this.redis.del(...keys);
    await this.redis.del(userKey(user));
  }
}
