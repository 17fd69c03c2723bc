import { DLQ_STREAM, STREAM } from "@mirror/contracts";
import type { BusCore as Bus } from "./core.js";
import { raw } from "./raw.js";
import { consumerConfig, createOrUpdateDurable } from "./durable.js";
import type { IdentitySpec } from "./identities.js";
import { isNoResponders, isTimeout, jetStreamApiCode } from "./nats-errors.js";

export interface ProvisionResult {
  streams: string[];
  /** `<identity>/<durable>` of every consumer created or updated. */
  consumers: string[];
}

/**
 * What the provisioning identity does before the services start: creates or updates the
 * streams and every durable consumer in the table, so the services themselves need no
 * create rights (their permissions only let them read and ack their own consumers).
 */
export async function provision(bus: Bus, table: readonly IdentitySpec[]): Promise<ProvisionResult> {
  await bus.ensureStreams();
  const jsm = await raw(bus).manager();
  const consumers: string[] = [];
  for (const spec of table) {
    for (const c of spec.consumes) {
      await createOrUpdateDurable(jsm, consumerConfig(c.durable, c.filter, c.options));
      consumers.push(`${spec.name}/${c.durable}`);
    }
  }
  return { streams: [STREAM.name, DLQ_STREAM.name], consumers };
}

/**
 * JetStream answers these while a cluster is still forming (no meta leader yet, peers not all
 * known): nats-server's JSClusterNoPeersErr (10005), JSClusterNotAvailErr (10008) and
 * JSClusterNotLeaderErr (10009), a request timeout, or no responders for the API subject.
 */
export function isJetStreamStarting(err: unknown): boolean {
  const code = jetStreamApiCode(err);
  return code === 10005 || code === 10008 || code === 10009 || isTimeout(err) || isNoResponders(err);
}

/**
 * `provision`, tried again while JetStream is still starting (a cluster started a moment ago
 * elects its meta leader in a few seconds), until `deadlineMs`; any other error at once.
 */
export async function provisionWhenReady(
  bus: Bus,
  table: readonly IdentitySpec[],
  opts: { deadlineMs?: number; onWait?: (err: Error, waitedMs: number) => void; now?: () => number } = {},
): Promise<ProvisionResult> {
  const now = opts.now ?? Date.now;
  const start = now();
  const deadline = start + (opts.deadlineMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await provision(bus, table);
    } catch (err) {
      if (!isJetStreamStarting(err) || now() >= deadline) throw err;
      opts.onWait?.(err as Error, now() - start);
      await new Promise((ok) => setTimeout(ok, Math.min(250 * 2 ** attempt, 2_000)));
    }
  }
}
