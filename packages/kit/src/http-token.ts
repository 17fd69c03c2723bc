import { randomBytes } from "node:crypto";
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { MirrorError } from "@mirror/contracts";

/** The HTTP token file's name inside the data folder. */
export const HTTP_TOKEN_FILE = "http-token";

/** The token file is not usable (unreadable, empty, or open to other users). */
export class HttpTokenError extends MirrorError {
  override name = "HttpTokenError";
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super("MIRROR_ERR_HTTP_TOKEN", message, options);
  }
}

/** Starting on a non-loopback address with no credential: refused (exit 2). */
export class UnprotectedListenError extends MirrorError {
  override name = "UnprotectedListenError";
  constructor(message: string) {
    super("MIRROR_ERR_UNPROTECTED_LISTEN", message);
  }
}

/** The data folder: `MIRROR_DATA_DIR`, else `.mirror/` in the working folder (as `pnpm start` computes it). */
export function dataDir(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  return resolve(cwd, env.MIRROR_DATA_DIR ?? join(cwd, ".mirror"));
}

/** Where the HTTP token file is: `MIRROR_HTTP_TOKEN_FILE` (compose mounts one), else `<data dir>/http-token`. */
export function httpTokenPath(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  return env.MIRROR_HTTP_TOKEN_FILE
    ? resolve(cwd, env.MIRROR_HTTP_TOKEN_FILE)
    : join(dataDir(env, cwd), HTTP_TOKEN_FILE);
}

/** The token in `file`, or undefined when there is no file; throws when it exists but is unusable. */
export function readHttpToken(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new HttpTokenError(
      `cannot read the HTTP token ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      file,
      { cause: err },
    );
  }
  const token = text.trim();
  if (token.length < 8)
    throw new HttpTokenError(
      `the HTTP token ${file} is shorter than 8 characters: delete it to have a new one made`,
      file,
    );
  if (process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0) {
    throw new HttpTokenError(`the HTTP token ${file} is readable by other users: chmod 600 ${file}`, file);
  }
  return token;
}

/**
 * The token in `file`, made first when missing: 32 random bytes as base64url, mode 0600 in a
 * folder made 0700. Written under a temporary name and hard-linked into place, so services
 * starting together agree on one token and none reads a half-written file.
 */
export function ensureHttpToken(file: string): { token: string; created: boolean } {
  const existing = readHttpToken(file);
  if (existing) return { token: existing, created: false };
  const dir = resolve(file, "..");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const token = randomBytes(32).toString("base64url");
  writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, file);
    return { token, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST")
      throw new HttpTokenError(`cannot write the HTTP token ${file}: ${(err as Error).message}`, file, { cause: err });
    return { token: readHttpToken(file) as string, created: false };
  } finally {
    unlinkSync(tmp);
  }
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

export interface HttpCredential {
  token: string;
  /** `config` (http.token), `file` (the data folder's token) or `created` (made now, at this start). */
  source: "config" | "file" | "created";
  /** The token file, when the token is not from the config. */
  file?: string;
}

/**
 * The token every state-changing request needs: `http.token`, else the data folder's file. With
 * neither, a service bound to loopback makes the file (the same one `pnpm start` makes); one
 * bound beyond loopback refuses to start, since a token it made up would be known to nobody
 * on the other machines.
 */
export function resolveHttpCredential(opts: {
  configured?: string;
  host: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
}): HttpCredential {
  if (opts.configured) return { token: opts.configured, source: "config" };
  const file = httpTokenPath(opts.env, opts.cwd);
  const token = readHttpToken(file);
  if (token) return { token, source: "file", file };
  if (!isLoopback(opts.host)) {
    throw new UnprotectedListenError(
      `refusing to listen on ${opts.host} with no HTTP credential: anyone on the network could change state. Set http.token (e.g. http: { token: "\${MIRROR_HTTP_TOKEN}" }), create ${file} (mode 0600), or bind to 127.0.0.1 with MIRROR_HTTP_HOST`,
    );
  }
  const made = ensureHttpToken(file);
  return { token: made.token, source: made.created ? "created" : "file", file };
}
