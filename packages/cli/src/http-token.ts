import { join, resolve } from "node:path";
import type { MirrorConfig } from "@mirror/contracts";
import { ensureHttpToken, HTTP_TOKEN_FILE, HttpTokenError, readHttpToken } from "@mirror/kit";

/**
 * Before `pnpm start` runs the services: with no `http.token` configured, makes the data
 * folder's token (32 random bytes, base64url, 0600 in a 0700 folder) that every service then
 * reads, so state changes over HTTP need a credential from the first start. False (after
 * saying why) when the file exists but cannot be used.
 */
export function prepareHttpToken(
  config: MirrorConfig,
  dataRoot: string,
  say: (m: string) => void,
  env = process.env,
): boolean {
  if (config.http.token) return true;
  const file = tokenFile(dataRoot, env);
  try {
    if (ensureHttpToken(file).created)
      say(`made the HTTP token ${file}: state changes over HTTP need Authorization: Bearer <its content>`);
    return true;
  } catch (err) {
    if (!(err instanceof HttpTokenError)) throw err;
    process.stderr.write(`mirror: ${err.message}\n`);
    return false;
  }
}

/** The token a CLI command sends to a service's HTTP API: `http.token`, else the data folder's file. */
export function findHttpToken(config: MirrorConfig, dataRoot: string, env = process.env): string | undefined {
  return config.http.token ?? readHttpToken(tokenFile(dataRoot, env));
}

/** As the services find it: `MIRROR_HTTP_TOKEN_FILE`, else `<data dir>/http-token`. */
function tokenFile(dataRoot: string, env: NodeJS.ProcessEnv): string {
  return env.MIRROR_HTTP_TOKEN_FILE ? resolve(env.MIRROR_HTTP_TOKEN_FILE) : join(dataRoot, HTTP_TOKEN_FILE);
}
