import { createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { MirrorConfig } from "@mirror/contracts";
import { credentialPath, IdentityError, identityDir } from "./identity.js";

/** A Redis ACL login: the service's name and a password only its seed can derive. */
export interface StoreLogin {
  username: string;
  password: string;
}

/**
 * The Redis password of an identity: HMAC-SHA256 of a fixed label under its nkey seed. Nothing
 * new to store or mount: whoever holds the seed (the service) can log in, and `identity init`,
 * which made the seeds, writes only the password's SHA-256 into `users.acl`.
 */
export function storePassword(seed: string): string {
  return createHmac("sha256", seed.trim()).update("mirror-redis-password/1").digest("base64url");
}

/** The line `users.acl` holds for one identity: its own prefix, the commands a service uses, nothing else. */
export function aclUserLine(name: string, seed: string): string {
  const hash = createHash("sha256").update(storePassword(seed)).digest("hex");
  // -@all, then the data and scripting commands the services use; -@dangerous drops KEYS, FLUSH*,
  // CONFIG, DEBUG ...; INFO and CLIENT SETNAME are what ioredis sends when it connects.
  return `user ${name} on #${hash} resetkeys ~mirror:${name}:* resetchannels -@all +@read +@write +@transaction +@scripting +@connection -@dangerous +info +client|setname +client|id`;
}

/**
 * The ACL line of Redis' default user in `users.acl`. Not `off`: redis-server replays its append-only file as the
 * default user and checks each MULTI/EXEC again against that user's ACL (redis/redis#14541, valkey-io/valkey#3983), so
 * with the default user off every transaction and every script's writes were dropped when Redis restarted, with only
 * a line in its log. On, with every permission and a password nobody is given (random, only its SHA-256 is written),
 * it is as closed as `off` to clients: a connection that does not log in as a service gets NOAUTH.
 */
export function defaultUserAclLine(): string {
  const hash = createHash("sha256").update(randomBytes(32)).digest("hex");
  return `user default on #${hash} resetkeys ~* resetchannels &* +@all`;
}

/** Whether a `users.acl` has the default user off (written before `defaultUserAclLine`; loses transactions on restart). */
export function aclHasDefaultOff(text: string): boolean {
  return /^user default off\b/m.test(text);
}

/** `store.auth` with its environment override. */
export function storeAuthMode(config: MirrorConfig, env: NodeJS.ProcessEnv): "url" | "identity" {
  const v = env.MIRROR_REDIS_AUTH || config.store.auth || "url";
  if (v !== "url" && v !== "identity")
    throw new IdentityError(`MIRROR_REDIS_AUTH must be "identity" or "url", not "${v}"`);
  return v;
}

/** The service's Redis login when `store.auth` is `identity`; undefined otherwise. */
export function storeLogin(name: string, config: MirrorConfig, env: NodeJS.ProcessEnv): StoreLogin | undefined {
  if (storeAuthMode(config, env) !== "identity") return undefined;
  const file = credentialPath(name, config.bus.credentials, env, identityDir(config.bus, env));
  if (!file || !existsSync(file))
    throw new IdentityError(
      `store.auth is "identity" but "${name}" has no seed (${file ?? "no identity folder"}) to derive its Redis password from`,
    );
  return { username: name, password: storePassword(readFileSync(file, "utf8")) };
}
