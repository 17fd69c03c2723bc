import type { Redis } from "ioredis";

/**
 * Failed logins counted per user name and per address in a fixed window; past the limit, 429 until
 * it ends. An address may fail four times as often as one name (a household behind one NAT).
 */
export class LoginLimit {
  constructor(
    private readonly redis: Redis,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private keys(address: string, user: string): string[] {
    return [`login-fail:addr:${address}`, `login-fail:user:${user.toLowerCase().slice(0, 64)}`];
  }

  /** Milliseconds until another attempt is allowed, or 0 when it is allowed now. */
  async blockedFor(address: string, user: string): Promise<number> {
    let wait = 0;
    for (const k of this.keys(address, user)) {
      const [count, ttl] = await Promise.all([this.redis.get(k), this.redis.pttl(k)]);
      const max = k.startsWith("login-fail:addr:") ? this.max * 4 : this.max;
      if (Number(count ?? 0) >= max) wait = Math.max(wait, ttl > 0 ? ttl : this.windowMs);
    }
    return wait;
  }

  async failed(address: string, user: string): Promise<void> {
    for (const k of this.keys(address, user)) {
      const n = await this.redis.incr(k);
      if (n === 1) await this.redis.pexpire(k, this.windowMs);
    }
  }

  async succeeded(user: string): Promise<void> {
    await this.redis.del(this.keys("", user)[1] as string);
  }
}
