import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";
import type { Redis } from "ioredis";
import { KEYS } from "./keys.js";

/**
 * Failed logins counted per user name and per address in a fixed window; past the limit, 429 until
 * it ends. An address may fail four times as often as one name (a household behind one NAT).
 */
export class LoginLimit {
  constructor(
    private readonly redis: Redis,
    private max: number,
    private windowMs: number,
  ) {}

  /** New limits from a config reload; failures already counted keep the window they started. */
  configure(max: number, windowMs: number): void {
    this.max = max;
    this.windowMs = windowMs;
  }

  private keys(address: string, user: string): string[] {
    return [KEYS.loginFailuresOfAddress(address), KEYS.loginFailuresOfUser(user)];
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

const plain = (address: string) => address.trim().replace(/^::ffff:/, "");

/**
 * The address a login attempt counts against: the connection's peer, unless that peer is one of
 * `console.trustedProxies` (the proxies the SSO header is believed from). Then it is the right-most
 * `X-Forwarded-For` entry that is not itself a trusted proxy: each proxy appends the address it
 * saw, so everything left of that entry is the client's own claim and could be forged.
 */
export function clientAddress(
  req: { socket: { remoteAddress?: string | undefined }; headers: IncomingHttpHeaders },
  trustedProxies: readonly string[],
): string {
  const peer = plain(req.socket.remoteAddress ?? "");
  if (!trustedProxies.includes(peer)) return peer;
  const header = req.headers["x-forwarded-for"];
  const hops = [header ?? []].flat().join(",").split(",").map(plain).filter(Boolean);
  for (const hop of hops.reverse()) {
    // A proxy that forwards something other than an address: count the attempt against the proxy.
    if (!isIP(hop)) return peer;
    if (!trustedProxies.includes(hop)) return hop;
  }
  return peer;
}
