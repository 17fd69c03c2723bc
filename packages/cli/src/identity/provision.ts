import { existsSync } from "node:fs";
import { join } from "node:path";
import { Bus, type IdentitySpec, type ProvisionResult, provisionWhenReady, streamOptionsOf } from "@mirror/bus";
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
  opts: { timeoutMs?: number; readyDeadlineMs?: number; say?: (msg: string) => void } = {},
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
    // Streams are made by provisionWhenReady below, which waits for a JetStream cluster that is still forming.
    manageStreams: false,
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
      let told = false;
      return await provisionWhenReady(bus, table, {
        deadlineMs: opts.readyDeadlineMs ?? 60_000,
        onWait: (err) => {
          if (told) return;
          told = true;
          opts.say?.(
            `JetStream is not ready yet (${err.message}): waiting up to ${(opts.readyDeadlineMs ?? 60_000) / 1000}s, as a cluster started a moment ago does`,
          );
        },
      });
    } finally {
      await bus.close();
    }
  } finally {
    clearTimeout(timer);
    void connecting.then((b) => b.close()).catch(() => undefined);
  }
}
