import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type BusAuth,
  type IdentitySpec,
  KeyringVerifier,
  nkeyAuth,
  mayPublishEvent,
  nkeySigner,
  type Signer,
  SigningKeyError,
  type Verifier,
} from "@mirror/bus";
import { type MirrorConfig, MirrorError } from "@mirror/contracts";

/** The file `pnpm mirror identity init` writes beside the seeds: `{ "<identity>": "<public nkey>" }`. */
export const PUBLIC_KEYS_FILE = "public-keys.json";

/**
 * The identity table `identity init` writes beside the keys, from the services' manifests: what
 * each identity may publish, which the signature check applies to every consumed event.
 */
export const IDENTITIES_FILE = "identities.json";

/** One error per identity problem: a missing seed, an unreadable folder, a bad key file. */
export class IdentityError extends MirrorError {
  override name = "IdentityError";
  constructor(message: string, opts?: { cause?: unknown }) {
    super("MIRROR_ERR_IDENTITY", message, opts);
  }
}

export interface Identity {
  auth?: BusAuth;
  signer?: Signer;
  /** Checks consumed events; set when an identity folder is. */
  verifier?: Verifier;
  publicKey?: string;
  /** The folder the identity came from, if any. */
  dir?: string;
  /** Values never to be logged (the seed). */
  secrets?: string[];
  /** Non-fatal problems worth a log line (a seed readable by others). */
  warnings?: string[];
}

/**
 * The identity folder: MIRROR_IDENTITY_DIR, else bus.identityDir, else MIRROR_IDENTITY_DEFAULT_DIR
 * if `pnpm start` made it (the `mirror` command sets it to `<data dir>/identity`), else none;
 * always none with MIRROR_IDENTITY=off.
 */
export function identityDir(bus: Pick<MirrorConfig["bus"], "identityDir">, env: NodeJS.ProcessEnv): string | undefined {
  // The one opt-out (tests, comparisons): no identity even where a folder is configured.
  if (env.MIRROR_IDENTITY === "off") return undefined;
  const dir = env.MIRROR_IDENTITY_DIR || bus.identityDir;
  if (dir) return resolve(dir);
  // The folder `pnpm start` made in the data folder, which the `mirror` command finds by itself.
  const made = env.MIRROR_IDENTITY_DEFAULT_DIR;
  return made && existsSync(join(made, PUBLIC_KEYS_FILE)) ? resolve(made) : undefined;
}

/** The credential file of a service: bus.credentials, else $MIRROR_IDENTITY_DIR/<name>.nk, else none. */
export function credentialPath(
  name: string,
  credentials: string | undefined,
  env: NodeJS.ProcessEnv,
  dir = env.MIRROR_IDENTITY_DIR,
): string | undefined {
  if (credentials) return credentials;
  if (dir) return join(dir, `${name}.nk`);
  return undefined;
}

function readSeed(name: string, file: string): { seed: Uint8Array; text: string; warnings: string[] } {
  if (!existsSync(file))
    throw new IdentityError(
      `credentials for "${name}" not found at ${file} (make them with \`pnpm mirror identity init --out DIR\`)`,
    );
  const text = readFileSync(file, "utf8").trim();
  if (!/^SU[A-Z2-7]{56}$/.test(text)) throw new IdentityError(`${file} does not hold an nkey user seed (SU...)`);
  const mode = statSync(file).mode & 0o777;
  const warnings = mode & 0o077 ? [`${file} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`] : [];
  return { seed: new TextEncoder().encode(text), text, warnings };
}

/** Reads `public-keys.json`: the keys every consumer verifies signatures against. */
export function readPublicKeys(dir: string): Record<string, string> {
  const file = join(dir, PUBLIC_KEYS_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new IdentityError(
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); re-run \`pnpm mirror identity init --out ${dir}\``,
    );
  }
  const keys = raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const bad = Object.entries(keys).filter(([, v]) => typeof v !== "string" || !/^U[A-Z2-7]{55}$/.test(v));
  if (!Object.keys(keys).length || bad.length)
    throw new IdentityError(`${file} must map identity names to public user nkeys (U...)`);
  return keys as Record<string, string>;
}

/**
 * Reads `identities.json`: the table of who may publish what (made from the manifests by `identity
 * init`); undefined when a folder made before it has none.
 */
export function readIdentityTable(dir: string): IdentitySpec[] | undefined {
  const file = join(dir, IDENTITIES_FILE);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new IdentityError(
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); re-run \`pnpm mirror identity init --out ${dir}\` (keys are kept)`,
    );
  }
  const ok =
    Array.isArray(raw) &&
    raw.every((s) => s && typeof s.name === "string" && Array.isArray(s.publishes) && Array.isArray(s.consumes));
  if (!ok)
    throw new IdentityError(
      `${file} must list the identities with what they publish; re-run \`pnpm mirror identity init --out ${dir}\``,
    );
  return raw as IdentitySpec[];
}

/** A key that passes the format check but does not decode (a bad checksum) is an identity problem: exit 2, no stack. */
function asIdentityError<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof SigningKeyError) throw new IdentityError(err.message, { cause: err });
    throw err;
  }
}

/** Loads an nkey seed: it authenticates the connection and signs the events. */
export function loadIdentity(name: string, credentials: string | undefined, env: NodeJS.ProcessEnv): Identity {
  const file = credentialPath(name, credentials, env);
  if (!file) return { secrets: [], warnings: [] };
  const { seed, text, warnings } = readSeed(name, file);
  const signer = asIdentityError(() => nkeySigner(seed, name));
  return { auth: nkeyAuth(seed, name), signer, publicKey: signer.publicKey, secrets: [text], warnings };
}

/**
 * A service's whole identity from config: its seed (bus.credentials or `<dir>/<name>.nk`) and,
 * with an identity folder, the verifier of everyone's signatures (bus.requireSignatures,
 * default true there). Without either, the service connects anonymously and does not sign.
 */
export function loadServiceIdentity(name: string, bus: MirrorConfig["bus"], env: NodeJS.ProcessEnv): Identity {
  const dir = identityDir(bus, env);
  const file = credentialPath(name, bus.credentials, env, dir);
  const own = file ? loadIdentity(name, file, env) : { secrets: [], warnings: [] };
  if (!dir) {
    if (bus.requireSignatures)
      throw new IdentityError(
        "bus.requireSignatures needs an identity folder (bus.identityDir or MIRROR_IDENTITY_DIR)",
      );
    return own;
  }
  const keys = readPublicKeys(dir);
  if (own.publicKey && keys[name] && keys[name] !== own.publicKey) {
    throw new IdentityError(
      `the seed of "${name}" (${file}) is not the key ${PUBLIC_KEYS_FILE} lists for it; re-run \`pnpm mirror identity init --out ${dir}\``,
    );
  }
  const table = readIdentityTable(dir);
  const mayPublish = table ? (id: string, subject: string) => mayPublishEvent(id, subject, table) : undefined;
  const verifier = asIdentityError(
    () => new KeyringVerifier(keys, { require: bus.requireSignatures ?? true, mayPublish }),
  );
  const warnings = table
    ? own.warnings
    : [
        ...(own.warnings ?? []),
        `${join(dir, IDENTITIES_FILE)} is missing: signatures are checked, but not which subjects each identity may publish; re-run \`pnpm mirror identity init --out ${dir}\` (keys are kept)`,
      ];
  return { ...own, warnings, verifier, dir };
}
