import type { ConsumeOptions } from "./consume.js";

/**
 * One durable consumer on the MIRROR stream. Services may not create consumers (nats-server does
 * not check a consumer's filter against its creator's subscribe rights), so the provisioning
 * identity creates each one from this entry and the service binds to it by name.
 */
export interface DurableSpec {
  durable: string;
  filter: string;
  /** Settings the service passes to bus.consume(); the provisioner creates the consumer with them. */
  options?: Pick<ConsumeOptions, "maxDeliver" | "ackWaitMs" | "backoffMs" | "deliverPolicy">;
}

/** Who one identity is on the bus and what it may say; nats-server.conf is generated from this. */
export interface IdentitySpec {
  name: string;
  /** Event subjects it publishes to JetStream (signed). Its own `mirror.dlq.<name>` is added when it consumes. */
  publishes: readonly string[];
  consumes: readonly DurableSpec[];
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

const MODEL_ADAPTER = { publishes: [], consumes: [], requests: [], serves: ["mirror.model.>"] } as const;

/**
 * Every identity of the mesh: the single table the server permissions, the provisioned durable
 * consumers and the signature check (may this source publish this subject?) all derive from.
 * A service that adds a durable consumer or a request adds it here (a test compares this
 * table with the services' code).
 */
export const MESH_IDENTITIES: readonly IdentitySpec[] = [
  { name: "scanner", publishes: ["mirror.repo.>"], consumes: [], requests: [], serves: ["mirror.scan.>"] },
  {
    name: "service-tracker",
    publishes: ["mirror.service.>", "mirror.heartbeat.>"],
    consumes: [{ durable: "service-tracker-heartbeats", filter: "mirror.heartbeat.>" }],
    requests: ["$SRV.>"],
    serves: ["mirror.tracker.>"],
  },
  {
    name: "loop-detector",
    publishes: ["mirror.loop.>"],
    consumes: [
      { durable: "loop-detector-repo", filter: "mirror.repo.snapshot.>" },
      { durable: "loop-detector-repo-gone", filter: "mirror.repo.gone.>" },
      { durable: "loop-detector-service", filter: "mirror.service.status.>" },
    ],
    requests: ["mirror.model.>"],
    readsHistory: true,
    serves: ["mirror.loops.>"],
  },
  {
    name: "notifier",
    publishes: ["mirror.notify.>"],
    consumes: [{ durable: "notifier", filter: "mirror.loop.>" }],
    requests: ["mirror.model.>", "mirror.loops.list"],
    serves: ["mirror.notifier.>"],
  },
  { name: "model-rules", ...MODEL_ADAPTER },
  /** The owner's web page: reads and acts through the owners' endpoints, follows loop events for live updates. */
  {
    name: "console",
    publishes: [],
    consumes: [
      { durable: "console", filter: "mirror.loop.>", options: { deliverPolicy: "new" } },
      { durable: "console-services", filter: "mirror.service.status.>", options: { deliverPolicy: "new" } },
    ],
    requests: [
      "mirror.loops.list",
      "mirror.loops.get",
      "mirror.loops.ack",
      "mirror.loops.snooze",
      "mirror.loops.close",
      "mirror.loops.reopen",
      "mirror.scan.now",
      "mirror.scan.repos",
      "mirror.tracker.checks.list",
      "mirror.notifier.silence.list",
      "mirror.notifier.silence.add",
      "mirror.notifier.silence.expire",
      "mirror.notifier.deliveries",
      "mirror.loops.maintenance.list",
      "mirror.loops.maintenance.add",
      "mirror.loops.maintenance.end",
      "mirror.model.ask",
      "mirror.history.check",
      "mirror.history.status",
      "mirror.history.trend",
      "mirror.history.repo",
    ],
    serves: ["mirror.console.>"],
  },
  /** Uptime, response times, incidents and the maintenance trend, from every status and loop event. */
  {
    name: "history",
    publishes: [],
    consumes: [
      { durable: "history-status", filter: "mirror.service.status.>" },
      { durable: "history-loops", filter: "mirror.loop.>" },
    ],
    requests: [],
    serves: ["mirror.history.>"],
  },
  { name: "model-openai", ...MODEL_ADAPTER },
  { name: "model-anthropic", ...MODEL_ADAPTER },
  /**
   * Cron jobs and scripts that check in on the bus (`nats pub --nkey jobs.nk mirror.heartbeat.<name>`):
   * they cannot sign, so the tracker's heartbeat consumer accepts unsigned events (allowUnsigned).
   */
  { name: "jobs", kind: "client", publishes: ["mirror.heartbeat.>"], consumes: [], requests: [], serves: [] },
  /** The owner's console and CLI: calls every service and provisions the streams; publishes no events. */
  { name: "operator", kind: "console", publishes: [], consumes: [], requests: ["$SRV.>"], serves: [] },
];

/** What an identity calls; the console calls every endpoint any identity serves. */
export function requestsOf(spec: IdentitySpec, table: readonly IdentitySpec[] = MESH_IDENTITIES): string[] {
  if (spec.kind !== "console") return [...spec.requests];
  return [...new Set([...spec.requests, ...table.flatMap((s) => s.serves)])];
}

export function identityNamed(name: string, table: readonly IdentitySpec[] = MESH_IDENTITIES): IdentitySpec | undefined {
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
