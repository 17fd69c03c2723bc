import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";

/** Where a Bus keeps its NATS client: reachable only from packages/bus and, through `@mirror/bus/testing`, tests and the bench. */
export const RAW: unique symbol = Symbol("mirror.bus.raw");

/** The NATS connection, JetStream client and manager under a Bus. */
export interface RawBus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  manager(): Promise<JetStreamManager>;
}

/** The raw client of a bus (bus kit internals, tests and baselines only). */
export function raw(bus: { readonly [RAW]: RawBus }): RawBus {
  return bus[RAW];
}
