import { DLQ_STREAM, STREAM } from "@mirror/contracts";
import type { BusCore as Bus } from "./core.js";
import { raw } from "./raw.js";
import { consumerConfig, createOrUpdateDurable } from "./durable.js";
import type { IdentitySpec } from "./identities.js";

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
