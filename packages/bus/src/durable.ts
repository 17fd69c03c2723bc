import { STREAM } from "@mirror/contracts";
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { BusError } from "./errors.js";
import { isConsumerExists, isConsumerNotFound, isPermissionViolation } from "./nats-errors.js";

/** The durable-consumer settings a service chooses (see ConsumeOptions). */
export interface DurableSettings {
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Redelivery delays; nats-server 2.9 needs maxDeliver > backoff.length. */
  backoffMs?: number[];
  deliverPolicy?: "all" | "new";
}

export const DURABLE_DEFAULTS = {
  maxDeliver: 10,
  ackWaitMs: 30_000,
  backoffMs: [1_000, 5_000, 15_000, 30_000, 60_000],
  deliverPolicy: "all",
} as const satisfies Required<DurableSettings>;

/**
 * The ack wait the server applies to a first delivery: with a backoff list, nats-server (2.9 and
 * later) replaces ack_wait by its first step (later deliveries wait the later steps). The
 * consumer keeps every message it holds alive within this (see HeldMessages).
 */
export function effectiveAckWaitMs(settings: DurableSettings = {}): number {
  const s = { ...DURABLE_DEFAULTS, ...settings };
  return s.backoffMs[0] ?? s.ackWaitMs;
}

/** The JetStream config of a durable pull consumer with explicit ack; the same for services and the provisioner. */
export function consumerConfig(
  durable: string,
  filter: string,
  settings: DurableSettings = {},
): Partial<ConsumerConfig> & { durable_name: string } {
  const s = { ...DURABLE_DEFAULTS, ...settings };
  return {
    durable_name: durable,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(s.ackWaitMs),
    max_deliver: s.maxDeliver,
    backoff: s.backoffMs.map((ms) => nanos(ms)),
    deliver_policy: s.deliverPolicy === "new" ? DeliverPolicy.New : DeliverPolicy.All,
    max_ack_pending: 10_000,
  };
}

/** Whether a JetStream API call failed because this identity may not make it. */
export function isPermissionError(err: unknown): boolean {
  return isPermissionViolation(err);
}

/** Creates the durable consumer, or updates it when it exists with other settings. Needs create rights. */
export async function createOrUpdateDurable(
  jsm: JetStreamManager,
  cfg: ReturnType<typeof consumerConfig>,
): Promise<ConsumerInfo> {
  try {
    return await jsm.consumers.add(STREAM.name, cfg);
  } catch (err) {
    if (!isConsumerExists(err)) throw err;
    // The deliver policy of an existing consumer cannot change; everything else can.
    const { durable_name: _d, deliver_policy: _p, ...rest } = cfg;
    return jsm.consumers.update(STREAM.name, cfg.durable_name, rest);
  }
}

/** The durable consumer the provisioning identity created; a clear error when there is none. */
export async function bindDurable(jsm: JetStreamManager, durable: string): Promise<ConsumerInfo> {
  try {
    return await jsm.consumers.info(STREAM.name, durable);
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
    throw new BusError(
      "MIRROR_ERR_NO_CONSUMER",
      `durable consumer "${durable}" does not exist on stream ${STREAM.name} and this identity may not create it: ` +
        "run `pnpm mirror identity provision` (`pnpm start` does it with the operator key)",
      { cause: err },
    );
  }
}

/** Settings of a provisioned consumer that differ from what the service asks for (logged, not fatal). */
export function durableDifferences(info: ConsumerInfo, want: ReturnType<typeof consumerConfig>): string[] {
  const have = info.config;
  const out: string[] = [];
  if ((have.filter_subject ?? "") !== want.filter_subject)
    out.push(`filter ${have.filter_subject} != ${want.filter_subject}`);
  if (have.max_deliver !== want.max_deliver) out.push(`max_deliver ${have.max_deliver} != ${want.max_deliver}`);
  // With a backoff list the server sets ack_wait to its first delay, so only compare it without one.
  if (!want.backoff?.length && have.ack_wait !== want.ack_wait)
    out.push(`ack_wait ${have.ack_wait} != ${want.ack_wait}`);
  if (JSON.stringify(have.backoff ?? []) !== JSON.stringify(want.backoff ?? [])) out.push("backoff differs");
  return out;
}
