import type { EventContract } from "@mirror/contracts";
import type { Logger } from "pino";
import type { Declared } from "./declared.js";
import type { BusMetrics } from "./metrics.js";
import type { RAW, RawBus } from "./raw.js";
import type { Signer, Verdict, Verifier } from "./signing.js";

export interface PublishOptions {
  /** Stable id: Nats-Msg-Id and ce-id. Give one derived from the entity and its state/sequence. */
  id?: string;
  time?: string;
  headers?: Record<string, string>;
}

/**
 * What the bus kit's own modules (consumers, endpoints, requests, history reads, provisioning)
 * need of a Bus. They depend on this, not on the Bus class, so bus.ts imports them without a
 * circle back.
 */
export interface BusCore {
  readonly name: string;
  readonly log: Logger;
  readonly metrics: BusMetrics;
  readonly signer: Signer | undefined;
  readonly verifier: Verifier | undefined;
  readonly [RAW]: RawBus;
  /** What this bus's manifest lets it do (everything when it has none: tests and the CLI). */
  readonly declared: Declared;
  readonly connected: boolean;
  readonly managesConsumers: boolean;
  noCreateRights(): void;
  inbox(): string;
  ensureStreams(): Promise<void>;
  verifyStored(subject: string, header: (name: string) => string | undefined, payload: Uint8Array): Verdict;
  publish<C extends EventContract>(
    contract: C,
    token: string,
    data: unknown,
    opts?: PublishOptions,
  ): Promise<{ seq: number; duplicate: boolean; id: string }>;
}
