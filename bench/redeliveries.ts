/**
 * Redeliveries of the mesh's durable consumers, read off the server: a consumer's delivery
 * sequence counts every delivery, redeliveries included, so between two quiet moments
 * (nothing pending, nothing unacked) it grows by the stored messages its filter covers plus the
 * redeliveries. Stored messages per filter come from a throwaway consumer's pending count.
 */
import { STREAM } from "@mirror/contracts";
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";

export interface DeliveryCount {
  /** Deliveries so far, summed over the durable consumers. */
  delivered: number;
  /** Stored messages their filters cover (one delivery each without a redelivery). */
  stored: number;
}

async function storedUnder(jsm: JetStreamManager, filter: string | undefined): Promise<number> {
  const probe = await jsm.consumers.add(STREAM.name, {
    ...(filter ? { filter_subject: filter } : {}),
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: nanos(30_000),
  });
  await jsm.consumers.delete(STREAM.name, probe.name).catch(() => undefined);
  return probe.num_pending;
}

/** Call when the mesh is quiet; the difference of two counts is the redeliveries between them. */
export async function deliveryCount(jsm: JetStreamManager): Promise<DeliveryCount> {
  const durables: { delivered: number; filter: string | undefined }[] = [];
  for await (const c of jsm.consumers.list(STREAM.name)) {
    if (c.config.durable_name) durables.push({ delivered: c.delivered.consumer_seq, filter: c.config.filter_subject });
  }
  let stored = 0;
  for (const d of durables) stored += await storedUnder(jsm, d.filter);
  return { delivered: durables.reduce((a, d) => a + d.delivered, 0), stored };
}

/** Redeliveries and deliveries between two quiet moments. */
export function redeliveriesBetween(
  before: DeliveryCount,
  after: DeliveryCount,
): { redeliveries: number; deliveries: number } {
  const stored = after.stored - before.stored;
  const delivered = after.delivered - before.delivered;
  return { redeliveries: Math.max(0, delivered - stored), deliveries: delivered };
}
