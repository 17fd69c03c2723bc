import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createUserKey, type IdentitySpec, publicKeyOfSeed } from "@mirror/bus";
import { aclHasDefaultOff, aclUserLine, defaultUserAclLine, IDENTITIES_FILE, PUBLIC_KEYS_FILE } from "@mirror/kit";
import { ACCOUNTS_CONF_FILE, renderAccountsConf, renderServerConf, type ServerConfOptions } from "./server-conf.js";

export const SERVER_CONF_FILE = "nats-server.conf";
export const REDIS_ACL_FILE = "users.acl";

/**
 * users.acl for redis-server (`--aclfile`): every service its own user limited to its prefix
 * (`mirror:<name>:*`), a `health` user that may only PING (container healthchecks), and the
 * default user closed to clients (on, for redis-server's AOF replay, with a password nobody has: see
 * `defaultUserAclLine`), so a local process without a service's seed cannot touch the mesh's state.
 */
export function renderRedisAcl(seeds: Record<string, string>, table: readonly IdentitySpec[]): string {
  const users = table
    .filter((s) => (s.kind ?? "service") === "service" && seeds[s.name])
    .map((s) => aclUserLine(s.name, seeds[s.name] as string));
  return [defaultUserAclLine(), "user health on nopass resetkeys resetchannels -@all +ping", ...users, ""].join("\n");
}

export interface InitResult {
  dir: string;
  /** identity -> what happened to its key. */
  keys: Record<string, { publicKey: string; action: "created" | "kept" | "rotated" }>;
  files: string[];
}

/** What `init` would make in `dir`: a seed of the table's identities, or a generated file, missing. */
export function missingFiles(dir: string, table: readonly IdentitySpec[]): string[] {
  const files = [
    ...table.map((s) => `${s.name}.nk`),
    PUBLIC_KEYS_FILE,
    IDENTITIES_FILE,
    ACCOUNTS_CONF_FILE,
    REDIS_ACL_FILE,
  ];
  // A users.acl with the default user off (written before 2026-12) drops transactions when Redis restarts: made again.
  return files.filter(
    (f) => !existsSync(join(dir, f)) || (f === REDIS_ACL_FILE && aclHasDefaultOff(readFileSync(join(dir, f), "utf8"))),
  );
}

/** The identity table as `identities.json` holds it (what the services' signature check reads). */
export function renderIdentities(table: readonly IdentitySpec[]): string {
  return `${JSON.stringify(table, null, 2)}\n`;
}

/** Whether the folder's generated files were made from another table (a manifest changed since init). */
export function staleTable(dir: string, table: readonly IdentitySpec[]): boolean {
  try {
    return readFileSync(join(dir, IDENTITIES_FILE), "utf8") !== renderIdentities(table);
  } catch {
    return true;
  }
}

/** Writes through a temporary file so a reader never sees half a file; `mode` applies to the new file. */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function readSeed(file: string): { publicKey: string; text: string } {
  const text = readFileSync(file, "utf8").trim();
  try {
    return { publicKey: publicKeyOfSeed(text), text };
  } catch {
    throw new Error(`${file} does not hold an nkey seed; remove it or run init with --rotate`);
  }
}

/**
 * `identity init`: one nkey user per identity (`<name>.nk`, the seed, mode 0600), kept when it
 * exists unless `rotate`; then `public-keys.json`, `accounts.conf` (the identities and their
 * permissions) and `nats-server.conf` (listen, JetStream, include accounts.conf) written from them.
 */
export function initIdentities(
  dir: string,
  opts: { rotate: boolean } & ServerConfOptions,
  table: readonly IdentitySpec[],
): InitResult {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const result: InitResult = { dir, keys: {}, files: [] };
  const seeds: Record<string, string> = {};
  for (const spec of table) {
    const file = join(dir, `${spec.name}.nk`);
    const exists = existsSync(file);
    if (exists && !opts.rotate) {
      chmodSync(file, 0o600);
      const { publicKey, text } = readSeed(file);
      seeds[spec.name] = text;
      result.keys[spec.name] = { publicKey, action: "kept" };
      continue;
    }
    const key = createUserKey();
    seeds[spec.name] = key.seed;
    writeAtomic(file, `${key.seed}\n`, 0o600);
    result.keys[spec.name] = { publicKey: key.publicKey, action: exists ? "rotated" : "created" };
    result.files.push(file);
  }
  const publicKeys = Object.fromEntries(Object.entries(result.keys).map(([name, k]) => [name, k.publicKey]));
  writeAtomic(join(dir, PUBLIC_KEYS_FILE), `${JSON.stringify(publicKeys, null, 2)}\n`, 0o644);
  writeAtomic(join(dir, IDENTITIES_FILE), renderIdentities(table), 0o644);
  writeAtomic(join(dir, ACCOUNTS_CONF_FILE), renderAccountsConf(publicKeys, table), 0o644);
  writeAtomic(join(dir, SERVER_CONF_FILE), renderServerConf(opts), 0o644);
  // Only password hashes: readable by a Redis container that runs as another user.
  writeAtomic(join(dir, REDIS_ACL_FILE), renderRedisAcl(seeds, table), 0o644);
  result.files.push(
    join(dir, PUBLIC_KEYS_FILE),
    join(dir, IDENTITIES_FILE),
    join(dir, ACCOUNTS_CONF_FILE),
    join(dir, SERVER_CONF_FILE),
    join(dir, REDIS_ACL_FILE),
  );
  return result;
}
