import { existsSync } from "node:fs";
import { join } from "node:path";
import { Bus, type IdentitySpec, type ProvisionResult, provision, streamOptionsOf } from "@mirror/bus";
import type { MirrorConfig } from "@mirror/contracts";
import { createLogger, loadIdentity } from "@mirror/kit";
import { Registry } from "prom-client";

/** The identity that creates streams and durable consumers: the owner's console/CLI key. */
export const PROVISIONER = "operator";

export function provisionerSeed(dir: string): string | undefined {
  const file = join(dir, `${PROVISIONER}.nk`);
  return existsSync(file) ? file : undefined;
}

/**
 * Connects as the operator and creates or updates the MIRROR and MIRROR_DLQ streams and every
 * durable consumer of the identity table (the services' manifests), so services that may not create them can bind.
 */
export async function provisionAsOperator(
  config: MirrorConfig,
  seedFile: string,
  table: readonly IdentitySpec[],
  opts: { timeoutMs?: number } = {},
): Promise<ProvisionResult> {
  const identity = loadIdentity(PROVISIONER, seedFile, {});
  const log = createLogger(PROVISIONER, process.stderr, process.env.MIRROR_LOG_LEVEL === "debug" ? "debug" : "warn", {
    secrets: identity.secrets,
  });
  const connecting = Bus.connect({
    name: PROVISIONER,
    url: config.bus.url,
    log,
    registry: new Registry(),
    auth: identity.auth,
    manageStreams: true,
    stream: streamOptionsOf(config.bus),
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `no NATS server answered at ${config.bus.url.replace(/\/\/[^@/]*@/, "//[redacted]@")} within ${(opts.timeoutMs ?? 15_000) / 1000}s`,
          ),
        ),
      opts.timeoutMs ?? 15_000,
    );
  });
  try {
    const bus = await Promise.race([connecting, timeout]);
    try {
      return await provision(bus, table);
    } finally {
      await bus.close();
    }
  } finally {
    clearTimeout(timer);
    void connecting.then((b) => b.close()).catch(() => undefined);
  }
}
