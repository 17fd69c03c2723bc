import { type EndpointContract, type EventContract, STREAM, toCeHeaders } from "@mirror/contracts";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createInbox, type MsgHdrs, type MsgHdrsImpl, type NatsConnection } from "@nats-io/nats-core";
import { connect, type ConnectionOptions } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { randomUUID } from "node:crypto";
import { BusError, busError, describeZodError, PublishError, ValidationError } from "./errors.js";
import { natsHeadersOf } from "./headers.js";
import { BusMetrics, subjectFamily } from "./metrics.js";
import { injectTrace, withProducerSpan } from "./tracing.js";
import { Consumer, type ConsumeOptions, type Handler } from "./consume.js";
import { Watch, type WatchHandler, type WatchOptions } from "./watch.js";
import { gather, lastPerSubject, reportStreams, type StoredEvent } from "./history.js";
import { requestEndpoint } from "./request.js";
import { addService, type EndpointHandler, type RegisteredService } from "./service.js";
import { isPermissionError } from "./durable.js";
import { isAuthorizationError, isPayloadTooLarge } from "./nats-errors.js";
import { inboxPrefixOf } from "./identities.js";
import { RAW, type RawBus } from "./raw.js";
import { serverList } from "./servers.js";
import { ensureStreams, type StreamOptions } from "./streams.js";
import type { BusCore, PublishOptions } from "./core.js";
import { type BusManifest, Declared } from "./declared.js";
import { type Signer, signHeaders, type Verdict, type Verifier } from "./signing.js";

export interface BusOptions {
  /** The service's identity: NATS connection name and CloudEvents source. */
  name: string;
  url: string;
  log: Logger;
  registry: Registry;
  /** Builds the authenticator (nkey credentials) for this identity; see signing.ts. */
  auth?: Pick<ConnectionOptions, "authenticator" | "user" | "pass" | "token">;
  signer?: Signer;
  verifier?: Verifier;
  stream?: StreamOptions;
  /** How long publish() keeps retrying (same Nats-Msg-Id) before it throws. */
  publishDeadlineMs?: number;
  /** Create/update the streams (default true). A service without JetStream permissions sets false. */
  manageStreams?: boolean;
  /**
   * Create/update its durable consumers (default true). With false, or when the server refuses
   * (permissions violation), each consumer binds to the one the provisioning identity created.
   */
  manageConsumers?: boolean;
  /** Where replies to this connection arrive; default `_INBOX_<name>` (its permissions allow only that). */
  inboxPrefix?: string;
  /** Wait for a first server forever (default, services); false fails within 5 s (a CLI command). */
  waitForServer?: boolean;
  /**
   * The service's manifest: every publish, consume, request, endpoint and history read it does not
   * declare is refused with an UndeclaredError, with or without server permissions.
   */
  manifest?: BusManifest;
}

export type { PublishOptions };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One service's connection to the mesh: identity, typed publish, durable consumers, request/reply. */
export class Bus implements BusCore {
  readonly name: string;
  readonly log: Logger;
  readonly metrics: BusMetrics;
  /** The NATS client, for the bus kit's own modules (raw.ts); nothing outside packages/bus touches it. */
  readonly [RAW]: RawBus;
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  readonly signer: Signer | undefined;
  readonly verifier: Verifier | undefined;
  readonly declared: Declared;
  private jsm: JetStreamManager | undefined;
  private readonly consumers: Consumer[] = [];
  private readonly watches = new Set<Watch>();
  private readonly services: RegisteredService[] = [];
  private closing = false;
  private consumingStopped: Promise<void> | undefined;
  private connectedNow = true;
  private mayCreateConsumers: boolean;
  /** When each publish still waiting for its JetStream ack began (performance.now()), oldest first. */
  private readonly unacked = new Map<number, number>();
  private publishes = 0;

  private constructor(
    nc: NatsConnection,
    private readonly opts: BusOptions,
  ) {
    this.nc = nc;
    this.name = opts.name;
    this.log = opts.log;
    this.signer = opts.signer;
    this.verifier = opts.verifier;
    this.declared = new Declared(opts.name, opts.manifest);
    this.mayCreateConsumers = opts.manageConsumers !== false;
    this.metrics = new BusMetrics(opts.registry);
    this.js = jetstream(nc, { timeout: 5_000 });
    this[RAW] = { nc, js: this.js, manager: () => this.manager() };
    this.metrics.connected.set(1);
    void this.watchStatus();
  }

  /** Connects (waiting for a first server if none answers yet) and makes sure the streams exist. */
  static async connect(opts: BusOptions): Promise<Bus> {
    // A manifest for another name is a wiring mistake: refuse it before connecting.
    new Declared(opts.name, opts.manifest);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: serverList(opts.url),
        name: opts.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        reconnectJitter: 250,
        waitOnFirstConnect: opts.waitForServer !== false,
        timeout: opts.waitForServer === false ? 5_000 : undefined,
        pingInterval: 5_000,
        maxPingOut: 3,
        // Otherwise every request (each JetStream publish ack, each ackAck) captures a stack
        // trace up front in case it times out: ~8% of the loop-detector's CPU under load (pnpm
        // bench). Our errors name the subject and message id instead.
        noAsyncTraces: true,
        inboxPrefix: opts.inboxPrefix ?? inboxPrefixOf(opts.name),
        ...opts.auth,
      });
    } catch (err) {
      if (!isAuthorizationError(err)) throw err;
      const hint = opts.auth
        ? `the server does not know the key of "${opts.name}" (start nats-server with the nats-server.conf generated beside it by \`pnpm mirror identity init\`)`
        : "the server requires credentials: set MIRROR_IDENTITY_DIR or bus.identityDir (`pnpm mirror identity init --out DIR`)";
      throw busError("MIRROR_ERR_AUTH", [opts.name, hint], { cause: err });
    }
    const bus = new Bus(nc, opts);
    if (opts.manageStreams !== false) await bus.ensureStreams();
    return bus;
  }

  get connected(): boolean {
    return !this.nc.isClosed() && this.connectedNow;
  }

  /**
   * How long (ms) the oldest publish still waiting for its JetStream ack has waited (retries
   * included); 0 when none waits. A connection to a node cut off from the stream's quorum stays
   * up while every publish waits: this is how a replica learns that its output goes nowhere.
   */
  get publishStalledMs(): number {
    for (const started of this.unacked.values()) return performance.now() - started;
    return 0;
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect") {
        this.connectedNow = false;
        this.metrics.connected.set(0);
        this.log.warn({ server: s.server }, "bus disconnected");
      } else if (s.type === "reconnect") {
        this.connectedNow = true;
        this.metrics.connected.set(1);
        this.metrics.reconnects.inc();
        this.log.info({ server: s.server }, "bus reconnected");
      }
    }
  }

  private async manager(): Promise<JetStreamManager> {
    // The API check ($JS.API.INFO) is an admin call; an identity that only binds skips it.
    this.jsm ??= await jetstreamManager(this.nc, { timeout: 5_000, checkAPI: this.opts.manageStreams !== false });
    return this.jsm;
  }

  /** Whether consumers try to create/update their durable consumer before binding to it. */
  get managesConsumers(): boolean {
    return this.mayCreateConsumers;
  }

  /** The server refused a consumer create: bind from now on. */
  noCreateRights(): void {
    this.mayCreateConsumers = false;
  }

  /**
   * Checks an event read from the stream directly (e.g. jsm.streams.getMessage in a rebuild) the
   * way consumers check theirs: `{ ok: false, reason }` means it must not be trusted.
   */
  verifyStored(subject: string, header: (name: string) => string | undefined, payload: Uint8Array): Verdict {
    return this.verifier?.verify({ subject, header: (n) => header(n) || undefined, payload }) ?? { ok: true };
  }

  /** The last stored event of every subject matching `filter`, each verified like a consumed one (see history.ts). */
  async lastPerSubject(filter: string): Promise<StoredEvent[]> {
    this.declared.readHistory(filter);
    return lastPerSubject(this, filter);
  }

  /** Reads the streams' state into the `mirror_jetstream_stream_*` gauges (see history.ts). */
  async reportStreams(): Promise<void> {
    this.declared.readHistory(STREAM.name);
    return reportStreams(this);
  }

  /** Sends each subject with a reply into this connection's inbox and collects replies for `windowMs` (see history.ts). */
  async gather(subjects: readonly string[], windowMs: number, onReply: (data: Uint8Array) => void): Promise<void> {
    for (const s of subjects) this.declared.request(s);
    return gather(this, subjects, windowMs, onReply);
  }

  /** A fresh reply subject under this connection's inbox prefix (the only one it may subscribe to). */
  inbox(): string {
    return createInbox(this.opts.inboxPrefix ?? inboxPrefixOf(this.name));
  }

  /** Creates or updates the MIRROR and MIRROR_DLQ streams and the replica count of every KV bucket (see streams.ts). */
  async ensureStreams(): Promise<void> {
    await ensureStreams(await this.manager(), this.opts.stream);
  }

  /**
   * Validates `data` against the contract, sets CloudEvents headers and Nats-Msg-Id, and
   * publishes to JetStream, retrying with the same id until acked or the deadline passes.
   */
  async publish<C extends EventContract>(
    contract: C,
    token: string,
    data: unknown,
    opts: PublishOptions = {},
  ): Promise<{ seq: number; duplicate: boolean; id: string }> {
    const parsed = contract.schema.safeParse(data);
    const subject = contract.subject(token);
    this.declared.publish(subject);
    if (!parsed.success) {
      this.metrics.messages.inc({ subject: contract.prefix, direction: "out", outcome: "invalid" });
      throw new ValidationError(
        `refusing to publish invalid ${contract.type} on ${subject}: ${describeZodError(parsed.error)}`,
        parsed.error,
      );
    }
    const id = opts.id ?? randomUUID();
    const payload = new TextEncoder().encode(JSON.stringify(parsed.data));
    const h: Record<string, string> = {
      ...toCeHeaders({
        id,
        source: this.name,
        type: contract.type,
        time: opts.time ?? new Date().toISOString(),
        subject: token,
      }),
      ...opts.headers,
    };
    return withProducerSpan(
      `publish ${contract.prefix}`,
      { "messaging.destination": subject, "messaging.message.id": id, "mirror.service": this.name },
      async () => {
        injectTrace(h);
        if (this.signer) signHeaders(this.signer, h, subject, payload);
        return this.publishRaw(subject, payload, h, id, contract.prefix);
      },
    );
  }

  /** JetStream publish with retries on the same msg id. Exposed for the DLQ and tests. */
  async publishRaw(
    subject: string,
    payload: Uint8Array,
    h: Record<string, string>,
    id: string,
    family = subjectFamily(subject),
  ): Promise<{ seq: number; duplicate: boolean; id: string }> {
    this.declared.publish(subject);
    const hdrs = natsHeadersOf(h);
    const deadline = Date.now() + (this.opts.publishDeadlineMs ?? 120_000);
    const key = ++this.publishes;
    this.unacked.set(key, performance.now());
    try {
      return await this.publishAttempts(subject, payload, hdrs, id, family, deadline);
    } finally {
      this.unacked.delete(key);
    }
  }

  private async publishAttempts(
    subject: string,
    payload: Uint8Array,
    hdrs: MsgHdrs,
    id: string,
    family: string,
    deadline: number,
  ): Promise<{ seq: number; duplicate: boolean; id: string }> {
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        const ack = await this.js.publish(subject, payload, { msgID: id, headers: hdrs, timeout: 5_000 });
        this.metrics.messages.inc({ subject: family, direction: "out", outcome: ack.duplicate ? "duplicate" : "ok" });
        return { seq: ack.seq, duplicate: ack.duplicate, id };
      } catch (err) {
        if (isPermissionError(err)) {
          this.metrics.messages.inc({ subject: family, direction: "out", outcome: "denied" });
          throw busError("MIRROR_ERR_PERMISSION", [this.name, subject], { cause: err });
        }
        // Too big for the server: no retry can help (it used to retry with the same id for the whole deadline).
        if (isPayloadTooLarge(err, payload.length + (hdrs as MsgHdrsImpl).encode().length, this.nc.info?.max_payload)) {
          this.metrics.messages.inc({ subject: family, direction: "out", outcome: "too_large" });
          throw busError("MIRROR_ERR_TOO_LARGE", [subject, id, payload.length], { cause: err });
        }
        if (this.closing || this.nc.isClosed() || Date.now() > deadline) {
          this.metrics.messages.inc({ subject: family, direction: "out", outcome: "error" });
          throw new PublishError(
            `publish to ${subject} (id ${id}) not acknowledged after ${attempt} attempts: ${(err as Error).message}`,
            err,
          );
        }
        if (attempt === 1 || attempt % 10 === 0)
          this.log.warn(
            { subject, id, attempt, err: (err as Error).message },
            "publish not acknowledged; retrying with the same id",
          );
        if (attempt % 5 === 0 && this.opts.manageStreams !== false) await this.ensureStreams().catch(() => undefined);
        await sleep(Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /** Runs a durable pull consumer (explicit ack) over `contract`'s subjects; see Consumer. */
  consume<C extends EventContract>(
    contract: C,
    durable: string,
    handler: Handler<C>,
    opts: ConsumeOptions = {},
  ): Consumer {
    this.declared.consume(durable, opts.filter ?? contract.filter);
    const consumer = new Consumer(
      this,
      contract as unknown as EventContract,
      durable,
      handler as unknown as Handler<EventContract>,
      opts,
    );
    this.consumers.push(consumer);
    consumer.start();
    return consumer;
  }

  /**
   * A live feed over `contract`'s subjects (see Watch): not subscribed until start(), so a view
   * can hold it only while someone looks. Declared in the manifest's `watches`.
   */
  watch<C extends EventContract>(contract: C, handler: WatchHandler<C>, opts: WatchOptions = {}): Watch {
    const w = new Watch(
      this,
      contract as unknown as EventContract,
      handler as unknown as WatchHandler<EventContract>,
      opts,
    );
    this.declared.watch(w.filter);
    this.watches.add(w);
    return w;
  }

  /** Registers a NATS Services API service so `$SRV.PING` finds it; endpoints are optional. */
  async service(spec: {
    name?: string;
    version: string;
    description?: string;
    metadata?: Record<string, string>;
    queue?: string;
    endpoints?: EndpointHandler[];
  }): Promise<RegisteredService> {
    for (const ep of spec.endpoints ?? []) this.declared.serve(ep.contract.subject);
    const svc = await addService(this, { name: spec.name ?? this.name, ...spec });
    this.services.push(svc);
    return svc;
  }

  /** Calls a request/reply endpoint; the request and reply are validated against its contract. */
  async request<E extends EndpointContract>(
    endpoint: E,
    data: unknown,
    opts: { timeout?: number } = {},
  ): Promise<import("zod").output<E["reply"]>> {
    this.declared.request(endpoint.subject);
    return requestEndpoint(this, endpoint, data, opts);
  }

  /**
   * Stops pulling messages and answering requests, and waits for the handlers in flight; the
   * connection stays open, so work that outlives a handler (a delivery's receipt, a triage
   * answer) can still publish before close(). Idempotent.
   */
  stopConsuming(): Promise<void> {
    this.consumingStopped ??= (async () => {
      for (const w of this.watches) w.stop();
      await Promise.allSettled(this.consumers.map((c) => c.stop()));
      await Promise.allSettled(this.services.map((s) => s.stop()));
    })();
    return this.consumingStopped;
  }

  /** Stops consuming (if not yet), lets in-flight handlers finish (bounded), drains. */
  async close(timeoutMs = 4_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const work = (async () => {
      await this.stopConsuming();
      if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
    })();
    let handle: NodeJS.Timeout | undefined;
    const timer = new Promise<"timeout">((resolve) => {
      handle = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([work.then(() => "done" as const), timer]);
    // The timer must not keep the process alive once the bus is closed.
    clearTimeout(handle);
    if (outcome === "timeout") {
      this.log.warn("bus close timed out; closing the connection");
      await this.nc.close().catch(() => undefined);
    }
  }

  get isClosing(): boolean {
    return this.closing;
  }
}

export { BusError };
