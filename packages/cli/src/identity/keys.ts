import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type IdentitySpec, MESH_IDENTITIES } from "@mirror/bus";
import { PUBLIC_KEYS_FILE } from "@mirror/kit";
import { nkeys } from "@nats-io/nats-core";
import { ACCOUNTS_CONF_FILE, renderAccountsConf, renderServerConf, type ServerConfOptions } from "./server-conf.js";

export const SERVER_CONF_FILE = "nats-server.conf";

export interface InitResult {
  dir: string;
  /** identity -> what happened to its key. */
  keys: Record<string, { publicKey: string; action: "created" | "kept" | "rotated" }>;
  files: string[];
}

/** Writes through a temporary file so a reader never sees half a file; `mode` applies to the new file. */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function readSeed(file: string): ReturnType<typeof nkeys.fromSeed> {
  const text = readFileSync(file, "utf8").trim();
  try {
    return nkeys.fromSeed(new TextEncoder().encode(text));
  } catch {
    throw new Error(`${file} does not hold an nkey seed; remove it or run init with --rotate`);
  }
}

/**
 * `identity init`: one nkey user per identity (`<name>.nk`, the seed, mode 0600), kept when it
 * exists unless `rotate`; then `public-keys.json`, `accounts.conf` (the identities and their
 * permissions) and `nats-server.conf` (listen, JetStream, include accounts.conf) written from them.
 */
export function initIdentities(dir: string, opts: { rotate: boolean } & ServerConfOptions, table: readonly IdentitySpec[] = MESH_IDENTITIES): InitResult {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const result: InitResult = { dir, keys: {}, files: [] };
  for (const spec of table) {
    const file = join(dir, `${spec.name}.nk`);
    const exists = existsSync(file);
    if (exists && !opts.rotate) {
      chmodSync(file, 0o600);
      result.keys[spec.name] = { publicKey: readSeed(file).getPublicKey(), action: "kept" };
      continue;
    }
    const kp = nkeys.createUser();
    writeAtomic(file, `${new TextDecoder().decode(kp.getSeed())}\n`, 0o600);
    result.keys[spec.name] = { publicKey: kp.getPublicKey(), action: exists ? "rotated" : "created" };
    result.files.push(file);
  }
  const publicKeys = Object.fromEntries(Object.entries(result.keys).map(([name, k]) => [name, k.publicKey]));
  writeAtomic(join(dir, PUBLIC_KEYS_FILE), `${JSON.stringify(publicKeys, null, 2)}\n`, 0o644);
  writeAtomic(join(dir, ACCOUNTS_CONF_FILE), renderAccountsConf(publicKeys, table), 0o644);
  writeAtomic(join(dir, SERVER_CONF_FILE), renderServerConf(opts), 0o644);
  result.files.push(join(dir, PUBLIC_KEYS_FILE), join(dir, ACCOUNTS_CONF_FILE), join(dir, SERVER_CONF_FILE));
  return result;
}
