import type { ConsoleRole, ConsoleUser } from "@mirror/contracts";
import type { Redis } from "ioredis";
import { ConsoleError } from "./errors.js";
import { KEYS } from "./keys.js";
import { hashPassword, verifyPassword } from "./passwords.js";

interface StoredUser {
  role: ConsoleRole;
  hash: string;
  createdAt: string;
}

const key = KEYS.user;
const INDEX = KEYS.users;

/** The console's accounts, in its own Redis keys (`user:<name>` and the `users` set). */
export class UserStore {
  constructor(
    private readonly redis: Redis,
    private readonly now: () => number,
  ) {}

  async add(name: string, role: ConsoleRole, password: string): Promise<ConsoleUser> {
    const createdAt = new Date(this.now()).toISOString();
    const stored: StoredUser = { role, hash: await hashPassword(password), createdAt };
    // NX: two adds of one name never overwrite each other's password.
    const ok = await this.redis.set(key(name), JSON.stringify({ ...stored, name }), "NX");
    if (ok !== "OK")
      throw new ConsoleError(
        "MIRROR_ERR_USER_EXISTS",
        `user ${name} exists (change the password with: mirror user passwd ${name})`,
      );
    await this.redis.sadd(INDEX, name.toLowerCase());
    return { name, role, createdAt };
  }

  async get(name: string): Promise<(ConsoleUser & { hash: string }) | undefined> {
    const text = await this.redis.get(key(name));
    if (!text) return undefined;
    const u = JSON.parse(text) as StoredUser & { name: string };
    return { name: u.name, role: u.role, createdAt: u.createdAt, hash: u.hash };
  }

  async list(): Promise<ConsoleUser[]> {
    const names = (await this.redis.smembers(INDEX)).sort();
    const users = await Promise.all(names.map((n) => this.get(n)));
    return users
      .filter((u): u is ConsoleUser & { hash: string } => !!u)
      .map(({ name, role, createdAt }) => ({ name, role, createdAt }));
  }

  async count(): Promise<number> {
    return this.redis.scard(INDEX);
  }

  async passwd(name: string, password: string): Promise<ConsoleUser> {
    const u = await this.get(name);
    if (!u) throw new ConsoleError("MIRROR_ERR_NO_USER", `no user ${name}`);
    await this.redis.set(
      key(name),
      JSON.stringify({ name: u.name, role: u.role, createdAt: u.createdAt, hash: await hashPassword(password) }),
      "XX",
    );
    return { name: u.name, role: u.role, createdAt: u.createdAt };
  }

  async remove(name: string): Promise<ConsoleUser> {
    const u = await this.get(name);
    if (!u) throw new ConsoleError("MIRROR_ERR_NO_USER", `no user ${name}`);
    await this.redis.multi().del(key(name)).srem(INDEX, name.toLowerCase()).exec();
    return { name: u.name, role: u.role, createdAt: u.createdAt };
  }

  /** The user when the password is right; undefined for an unknown user and a wrong password alike. */
  async check(name: string, password: string): Promise<ConsoleUser | undefined> {
    const u = name ? await this.get(name) : undefined;
    const ok = await verifyPassword(password, u?.hash);
    return ok && u ? { name: u.name, role: u.role, createdAt: u.createdAt } : undefined;
  }
}
