import { NON_SERVICE_PUBLISHERS, type ServiceManifest } from "@mirror/contracts";
import type { DurableSettings } from "./durable.js";

/**
 * One durable consumer on the MIRROR stream. Services may not create consumers (nats-server does
 * not check a consumer's filter against its creator's subscribe rights), so the provisioning
 * identity creates each one from this entry and the service binds to it by name.
 */
export interface DurableSpec {
  durable: string;
  filter: string;
  /** Settings the service passes to bus.consume(); the provisioner creates the consumer with them. */
  options?: DurableSettings;
}

/** Who one identity is on the bus and what it may say; nats-server.conf is generated from this. */
export interface IdentitySpec {
  name: string;
  /** Event subjects it publishes to JetStream (signed). Its own `mirror.dlq.<name>` is added when it consumes. */
  publishes: readonly string[];
  consumes: readonly DurableSpec[];
  /** Event subjects it may subscribe to directly, for live feeds held only while needed (see Bus.watch). */
  watches?: readonly string[];
  /** Request/reply subjects it calls. */
  requests: readonly string[];
  /**
   * Reads stored events directly (stream info and last message per subject), to rebuild its state
   * after losing it. Such reads must be checked with bus.verifyStored(), as consumers check theirs.
   */
  readsHistory?: boolean;
  /** Request/reply subjects it answers (every identity also answers `$SRV.>`). */
  serves: readonly string[];
  /**
   * `service` (default) answers `$SRV.>`; `console` is the owner's CLI and console, which calls
   * every endpoint, provisions the streams and durable consumers (`pnpm mirror identity
   * provision`) and answers nothing; `client` only publishes what it is allowed to.
   */
  kind?: "service" | "console" | "client";
}

/**
 * Identities that no service manifest declares: cron jobs and scripts that check in on the bus
 * (`nats pub --nkey jobs.nk mirror.heartbeat.<name>`; they cannot sign, so the tracker's heartbeat
 * consumer accepts unsigned events), and the owner's CLI and console key, which calls every
 * service and provisions the streams.
 */
export const BUILT_IN_IDENTITIES: readonly IdentitySpec[] = [
  {
    name: "jobs",
    kind: "client",
    publishes: [...(NON_SERVICE_PUBLISHERS.jobs ?? [])],
    consumes: [],
    requests: [],
    serves: [],
  },
  { name: "operator", kind: "console", publishes: [], consumes: [], requests: ["$SRV.>"], serves: [] },
];

/**
 * The identity table of a mesh: one entry per service manifest (`services/<name>/src/manifest.ts`,
 * found by the CLI) plus the built-in `jobs` and `operator`. The server permissions, the
 * provisioned durable consumers and the signature check (may this source publish this subject?)
 * all derive from it.
 */
export function identitiesOf(manifests: readonly ServiceManifest[]): IdentitySpec[] {
  const services = manifests.map(
    (m): IdentitySpec => ({
      name: m.name,
      publishes: [...m.publishes],
      consumes: m.consumes.map((c) => ({ ...c })),
      ...(m.watches?.length ? { watches: [...m.watches] } : {}),
      requests: [...m.requests],
      serves: [...m.serves],
      ...(m.readsHistory ? { readsHistory: true } : {}),
    }),
  );
  return [...services, ...BUILT_IN_IDENTITIES];
}

/** What an identity calls; the console calls every endpoint any identity serves. */
export function requestsOf(spec: IdentitySpec, table: readonly IdentitySpec[]): string[] {
  if (spec.kind !== "console") return [...spec.requests];
  return [...new Set([...spec.requests, ...table.flatMap((s) => s.serves)])];
}

export function identityNamed(name: string, table: readonly IdentitySpec[]): IdentitySpec | undefined {
  return table.find((s) => s.name === name);
}

/** The inbox prefix of an identity: its replies arrive only there (a subscriber on `_INBOX.>` sees every reply). */
export function inboxPrefixOf(name: string): string {
  return `_INBOX_${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** The dead-letter subject of an identity. */
export function dlqSubjectOf(name: string): string {
  return `mirror.dlq.${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}
