import {
  CE,
  type DlqReason,
  type EventContract,
  type EventData,
  STREAM,
  deadLetter,
  fromCeHeaders,
} from "@mirror/contracts";
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { BusCore as Bus } from "./core.js";
import { raw } from "./raw.js";
import {
  bindDurable,
  consumerConfig,
  createOrUpdateDurable,
  DURABLE_DEFAULTS,
  durableDifferences,
  effectiveAckWaitMs,
  isPermissionError,
} from "./durable.js";
import { jsonNestsDeeperThan, MAX_DEPTH, nestsDeeperThan } from "./depth.js";
import { BusError, describeZodError, RetryableError } from "./errors.js";
import { headerOf } from "./headers.js";
import { HeldMessages } from "./held.js";
import type { ConsumerFigures } from "./metrics.js";
import { withConsumerSpan } from "./tracing.js";

/** What a handler knows about the message besides its validated data. */
export interface MessageContext {
  subject: string;
  /** The last subject token (the entity: repo key, service name, loop id). */
  token: string;
  id: string;
  source: string;
  type: string;
  time: string;
  deliveries: number;
  streamSeq: number;
  /**
   * Other messages this consumer holds right now (in progress, or waiting behind one of the same
   * subject): above zero, a handler that waits a little for something it could fold into its
   * event (see the loop-detector's triage) adds no latency of its own to the queue.
   */
  backlog: number;
  headers: MsgHdrs | undefined;
  log: Logger;
}

/** A handler resolves to ack; throws RetryableError (or any unexpected error) to retry, PoisonError to dead-letter. */
export type Handler<C extends EventContract> = (data: EventData<C>, ctx: MessageContext) => Promise<void>;

export interface ConsumeOptions {
  /**
   * Messages held at once (different subjects handled in parallel; one subject always in order).
   * It is also the pull size: only free slots are pulled, so nothing waits unattended.
   */
  concurrency?: number;
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Redelivery delays; nats-server 2.9 needs maxDeliver > backoff.length. */
  backoffMs?: number[];
  /** Subject filter; defaults to the contract's filter. */
  filter?: string;
  /** Turn a raw payload into the value validated by the schema (default: JSON.parse). */
  decode?: (payload: Uint8Array, subject: string, headers: MsgHdrs | undefined) => unknown;
  deliverPolicy?: "all" | "new";
  /** CloudEvents types accepted (default: the contract's); e.g. all three loop event types on "mirror.loop.>". */
  types?: string[];
  /**
   * Accept events without a `mirror-sig` even when bus.requireSignatures is on (check-ins from cron
   * jobs that cannot sign). A present but wrong signature is still dead-lettered.
   */
  allowUnsigned?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long an open pull waits for messages; heartbeats every IDLE_HEARTBEAT_MS tell a live pull from a lost one. */
const PULL_EXPIRES_MS = 30_000;
const IDLE_HEARTBEAT_MS = 5_000;
const MAX_DLQ_PAYLOAD = 64 * 1024;
/** Not streaming, so one fatal decoder serves every message (one per message was garbage per message). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A durable pull consumer with explicit ack that survives server restarts and never crashes on input. */
export class Consumer {
  private stopped = false;
  private messages: ConsumerMessages | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly tails = new Map<string, Promise<void>>();
  private unwatch: (() => void) | undefined;
  /** Every message pulled and not yet settled, each in progress and kept alive. */
  private readonly held: HeldMessages;
  /** Free slots worth a pull: fewer would cost a pull request per message under load. */
  private readonly refillAt: number;
  private warnedDiff = false;
  private readonly opts: Required<Omit<ConsumeOptions, "decode" | "filter" | "types" | "allowUnsigned">> &
    Pick<ConsumeOptions, "decode" | "filter" | "types" | "allowUnsigned">;
  private readonly log: Logger;

  constructor(
    private readonly bus: Bus,
    private readonly contract: EventContract,
    readonly durable: string,
    private readonly handler: Handler<EventContract>,
    opts: ConsumeOptions,
  ) {
    this.opts = { concurrency: 16, ...DURABLE_DEFAULTS, backoffMs: [...DURABLE_DEFAULTS.backoffMs], ...opts };
    this.log = bus.log.child({ consumer: durable });
    this.held = new HeldMessages(this.opts.concurrency, effectiveAckWaitMs(this.opts));
    this.refillAt = Math.max(1, Math.ceil(this.opts.concurrency / 4));
  }

  start(): void {
    void this.run();
    // Read when /metrics is scraped, not on a timer (a request per consumer every 5 s at idle).
    this.unwatch = this.bus.metrics.watchConsumer(this.durable, () => this.readInfo());
  }

  /**
   * Creates or updates the durable consumer when this identity may (no identity: the service
   * provisions itself); otherwise binds to the one the provisioning identity created.
   */
  private async ensure(): Promise<void> {
    const jsm = await raw(this.bus).manager();
    const want = consumerConfig(this.durable, this.opts.filter ?? this.contract.filter, this.opts);
    if (this.bus.managesConsumers) {
      try {
        await createOrUpdateDurable(jsm, want);
        return;
      } catch (err) {
        if (!isPermissionError(err)) throw err;
        this.bus.noCreateRights();
        this.log.info("this identity may not create consumers; binding the provisioned one");
      }
    }
    const info = await bindDurable(jsm, this.durable);
    const diffs = durableDifferences(info, want);
    if (diffs.length && !this.warnedDiff) {
      this.warnedDiff = true;
      this.log.warn(
        { differences: diffs },
        "the provisioned consumer differs from what this service asks for; update its entry in the service's manifest (services/<name>/src/manifest.ts) and re-run `pnpm mirror identity init` and `pnpm mirror identity provision`",
      );
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.ensure();
        const consumer = await raw(this.bus).js.consumers.get(STREAM.name, this.durable);
        while (!this.stopped) {
          await this.held.whenFree(this.held.size ? this.refillAt : 1);
          if (this.stopped) break;
          // One pull at a time, for the free slots only: what arrives is dispatched (held and
          // kept alive) at once, so a message is either in progress or still on the server.
          const batch = await consumer.fetch({
            max_messages: this.held.free,
            expires: PULL_EXPIRES_MS,
            idle_heartbeat: IDLE_HEARTBEAT_MS,
          });
          this.messages = batch;
          if (this.stopped) batch.stop();
          for await (const m of batch) this.dispatch(m);
          failures = 0;
        }
      } catch (err) {
        failures++;
        if (!this.stopped && (failures === 1 || failures % 20 === 0))
          this.log.warn(
            { err: (err as Error).message, code: (err as BusError).code, failures },
            "consumer not running; retrying",
          );
      }
      if (!this.stopped) await sleep(Math.min(5_000, 200 * failures + 200));
    }
  }

  private dispatch(m: JsMsg): void {
    this.held.hold(m);
    const key = m.subject;
    const prev = this.tails.get(key) ?? Promise.resolve();
    const p = prev.then(() => this.handle(m)).catch((err) => this.log.error({ err }, "unexpected consumer failure"));
    this.tails.set(key, p);
    this.inFlight.add(p);
    void p.finally(() => {
      this.held.release(m);
      this.inFlight.delete(p);
      if (this.tails.get(key) === p) this.tails.delete(key);
    });
  }

  private async handle(m: JsMsg): Promise<void> {
    const family = this.contract.prefix;
    const started = performance.now();
    const metrics = this.bus.metrics;
    const get = (name: string) => headerOf(m.headers, name);
    // Checked before anything reads the payload: an untrusted event is never parsed.
    const verdict = this.bus.verifier?.verify(
      { subject: m.subject, header: get, payload: m.data },
      { allowUnsigned: this.opts.allowUnsigned },
    );
    if (verdict && !verdict.ok) return this.dead(m, "signature", verdict.reason);
    let decoded: unknown;
    const tooDeep = () => this.dead(m, "invalid_json", `payload nests deeper than ${MAX_DEPTH} levels`);
    // JSON is measured as text, before it is parsed; what a custom decoder returns, as a value.
    if (!this.opts.decode && jsonNestsDeeperThan(m.data)) return tooDeep();
    try {
      decoded = this.opts.decode ? this.opts.decode(m.data, m.subject, m.headers) : JSON.parse(UTF8.decode(m.data));
    } catch (err) {
      return this.dead(m, "invalid_json", `payload is not valid JSON: ${(err as Error).message}`);
    }
    if (this.opts.decode && nestsDeeperThan(decoded)) return tooDeep();
    const ce = fromCeHeaders(get);
    const ceType = get(CE.type);
    const accepted = this.opts.types ?? [this.contract.type];
    if (ceType && !accepted.includes(ceType))
      return this.dead(m, "invalid_envelope", `ce-type "${ceType}" is not ${accepted.join(" or ")}`);
    const source = ce.meta?.source ?? "anonymous";
    const parsed = this.contract.schema.safeParse(decoded);
    if (!parsed.success)
      return this.dead(m, "invalid_schema", `${this.contract.type}: ${describeZodError(parsed.error)}`);
    const tokens = m.subject.split(".");
    const log = this.log;
    let childLog: Logger | undefined;
    const ctx: MessageContext = {
      subject: m.subject,
      token: tokens[tokens.length - 1] ?? "",
      id: ce.meta?.id ?? get(CE.msgId) ?? `seq-${m.seq}`,
      source,
      type: ceType ?? this.contract.type,
      time: ce.meta?.time ?? new Date(Math.floor(m.info.timestampNanos / 1_000_000)).toISOString(),
      deliveries: m.info.deliveryCount,
      streamSeq: m.seq,
      backlog: Math.max(0, this.held.size - 1),
      headers: m.headers,
      // Built on first use: most messages are handled without a log line, and a pino child
      // serialises its bindings when it is made.
      get log() {
        childLog ??= log.child({ subject: m.subject, msgId: ce.meta?.id, seq: m.seq });
        return childLog;
      },
    };
    try {
      await withConsumerSpan(
        `handle ${family}`,
        m.headers,
        { "messaging.destination": m.subject, "mirror.service": this.bus.name },
        () => this.handler(parsed.data, ctx),
      );
      // A plain +ACK, not a confirmed one: the effect is stored and idempotent, so an ack lost
      // with a dying server only means a redelivery that changes nothing, and waiting for the
      // server's confirmation of every ack cost a reply message and a round trip per message.
      m.ack();
      metrics.messages.inc({ subject: family, direction: "in", outcome: "ok" });
    } catch (err) {
      const e = err as Error;
      const retryable = !(err instanceof BusError) || err.retryable;
      if (!retryable) return this.dead(m, "poison", `${e.name}: ${e.message}`);
      if (m.info.deliveryCount >= this.opts.maxDeliver)
        return this.dead(m, "max_deliver", `gave up after ${m.info.deliveryCount} deliveries: ${e.message}`);
      const delay =
        err instanceof RetryableError && err.delayMs !== undefined
          ? err.delayMs
          : this.opts.backoffMs[Math.min(m.info.deliveryCount - 1, this.opts.backoffMs.length - 1)];
      ctx.log.warn({ err: e.message, deliveries: m.info.deliveryCount, delayMs: delay }, "handler failed; will retry");
      metrics.messages.inc({ subject: family, direction: "in", outcome: "retry" });
      m.nak(delay);
    } finally {
      metrics.handleSeconds.observe({ subject: family }, (performance.now() - started) / 1000);
    }
  }

  /** Terminates a message that can never be handled and republishes it to mirror.dlq.<service>. */
  private async dead(m: JsMsg, reason: DlqReason, error: string): Promise<void> {
    const metrics = this.bus.metrics;
    const headers: Record<string, string> = {};
    if (m.headers) for (const [k, v] of m.headers) headers[k] = (v[0] ?? "").slice(0, 500);
    let payload: string;
    let payloadEncoding: "utf8" | "base64";
    const slice = m.data.subarray(0, MAX_DLQ_PAYLOAD);
    try {
      payload = UTF8.decode(slice);
      payloadEncoding = "utf8";
    } catch {
      payload = Buffer.from(slice).toString("base64");
      payloadEncoding = "base64";
    }
    this.log.warn({ subject: m.subject, reason, error: error.slice(0, 500), seq: m.seq }, "message dead-lettered");
    // A slow DLQ publish does not let the ack wait run out: the message is held (kept alive) until this returns.
    try {
      await this.bus.publish(
        deadLetter,
        this.bus.name.replace(/[^A-Za-z0-9_-]/g, "_"),
        {
          service: this.bus.name,
          subject: m.subject,
          reason,
          error: error.slice(0, 2_000),
          payload,
          payloadEncoding,
          headers,
          streamSeq: m.seq,
          deliveries: m.info.deliveryCount,
          at: new Date().toISOString(),
        },
        { id: `dlq:${this.durable}:${m.seq}` },
      );
      metrics.dlq.inc({ reason });
      metrics.messages.inc({ subject: this.contract.prefix, direction: "in", outcome: "dead" });
      // A bare +TERM: nats-server before 2.10 ignores "+TERM <reason>", so the message stayed
      // ack-pending and came back until max_deliver. The reason is in the dead letter.
      m.term();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "dead-letter publish failed; message will be redelivered");
      m.nak(5_000);
    }
  }

  private async readInfo(): Promise<ConsumerFigures | undefined> {
    if (this.stopped || !this.bus.connected) return undefined;
    try {
      return await (await raw(this.bus).manager()).consumers.info(STREAM.name, this.durable);
    } catch {
      return undefined; // informational only
    }
  }

  /** Stops pulling, then waits (bounded by the caller) for in-flight handlers. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    this.held.stop();
    this.messages?.stop();
    await Promise.allSettled([...this.inFlight]);
    this.held.dispose();
  }
}
