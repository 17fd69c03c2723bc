import { existsSync } from "node:fs";
import { join } from "node:path";
import type { IdentitySpec } from "@mirror/bus";
import type { MirrorConfig } from "@mirror/contracts";
import { ACCOUNTS_CONF_FILE } from "./server-conf.js";
import { provisionAsOperator, provisionerSeed } from "./provision.js";

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, "//[redacted]@");

/** The services named that have no seed in the identity folder. */
export function missingSeeds(dir: string, names: string[]): string[] {
  return names.filter((n) => !existsSync(join(dir, `${n}.nk`)));
}

/** The generated accounts.conf an embedded nats-server is started with, if the folder has one. */
export function embeddedNatsConfig(dir: string | undefined): string | undefined {
  const file = dir ? join(dir, ACCOUNTS_CONF_FILE) : undefined;
  return file && existsSync(file) ? file : undefined;
}

/**
 * With an identity folder, before any service starts: the operator key creates the streams and
 * every durable consumer (services may not). Returns an error message, or undefined when done.
 */
export async function provisionBeforeStart(
  config: MirrorConfig,
  dir: string,
  table: readonly IdentitySpec[],
  say: (msg: string) => void,
): Promise<string | undefined> {
  const seed = provisionerSeed(dir);
  if (!seed) {
    say(
      `no operator.nk in ${dir}: assuming the streams and consumers are provisioned (pnpm mirror identity provision)`,
    );
    return undefined;
  }
  try {
    const r = await provisionAsOperator(config, seed, table, { say });
    say(`provisioned ${r.streams.join(", ")} and ${r.consumers.length} durable consumers as operator`);
    return undefined;
  } catch (err) {
    return `provisioning the streams as operator failed at ${redact(config.bus.url)}: ${(err as Error).message}`;
  }
}

export { refusesAnonymous } from "@mirror/bus";
