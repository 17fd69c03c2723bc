import { CE, type EventContract, type EventData, fromCeHeaders } from "@mirror/contracts";
import type { Msg, Subscription } from "@nats-io/nats-core";
import type { BusCore as Bus } from "./core.js";
import { jsonNestsDeeperThan, MAX_DEPTH } from "./depth.js";
import { describeZodError } from "./errors.js";
import { headerOf } from "./headers.js";
import { raw } from "./raw.js";

/** What a live-feed handler knows about an event besides its validated data. */
export interface WatchContext {
  subject: string;
  /** The last subject token (the entity). */
  token: string;
  /** ce-id (Nats-Msg-Id): a publish retried with the same id arrives again, so de-duplicate on it. */
  id: string;
  source: string;
  type: string;
}

export type WatchHandler<C extends EventContract> = (data: EventData<C>, ctx: WatchContext) => void;

export interface WatchOptions {
  /** Subject filter; defaults to the contract's filter. */
  filter?: string;
  /** CloudEvents types accepted (default: the contract's). */
  types?: string[];
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A live feed: a plain NATS subscription on event subjects, for a view that only needs what
 * happens while it is open (the console's live page). Nothing is stored, replayed or acked, and
 * it costs nothing once stopped; a publish retried with the same id may arrive twice. Each event
 * is checked as a consumer checks it (signature first, then JSON, ce-type, schema); one that
 * fails is counted (`mirror_bus_messages_total{direction="in",outcome="invalid"}`) and dropped:
 * the durable consumers of the stream dead-letter it.
 */
export class Watch {
  private sub: Subscription | undefined;
  private unnamed = 0;

  constructor(
    private readonly bus: Bus,
    private readonly contract: EventContract,
    private readonly handler: WatchHandler<EventContract>,
    private readonly opts: WatchOptions = {},
  ) {}

  get filter(): string {
    return this.opts.filter ?? this.contract.filter;
  }

  start(): void {
    if (this.sub) return;
    this.sub = raw(this.bus).nc.subscribe(this.filter, {
      callback: (err, m) => {
        if (!err) this.handle(m);
      },
    });
  }

  /** Unsubscribes (idempotent); start() subscribes again. */
  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  get running(): boolean {
    return !!this.sub;
  }

  private drop(m: Msg, error: string): undefined {
    this.bus.metrics.messages.inc({ subject: this.contract.prefix, direction: "in", outcome: "invalid" });
    this.bus.log.warn({ subject: m.subject, error: error.slice(0, 500), watch: this.filter }, "live event dropped");
  }

  private handle(m: Msg): undefined {
    try {
      const get = (name: string) => headerOf(m.headers, name);
      const verdict = this.bus.verifier?.verify({ subject: m.subject, header: get, payload: m.data });
      if (verdict && !verdict.ok) return this.drop(m, `signature: ${verdict.reason}`);
      if (jsonNestsDeeperThan(m.data)) return this.drop(m, `payload nests deeper than ${MAX_DEPTH} levels`);
      let decoded: unknown;
      try {
        decoded = JSON.parse(UTF8.decode(m.data));
      } catch (err) {
        return this.drop(m, `payload is not valid JSON: ${(err as Error).message}`);
      }
      const ceType = get(CE.type);
      const accepted = this.opts.types ?? [this.contract.type];
      if (ceType && !accepted.includes(ceType))
        return this.drop(m, `ce-type "${ceType}" is not ${accepted.join(" or ")}`);
      const parsed = this.contract.schema.safeParse(decoded);
      if (!parsed.success) return this.drop(m, `${this.contract.type}: ${describeZodError(parsed.error)}`);
      const ce = fromCeHeaders(get);
      const tokens = m.subject.split(".");
      this.handler(parsed.data, {
        subject: m.subject,
        token: tokens[tokens.length - 1] ?? "",
        id: ce.meta?.id ?? get(CE.msgId) ?? `unnamed-${++this.unnamed}`,
        source: ce.meta?.source ?? "anonymous",
        type: ceType ?? this.contract.type,
      });
      this.bus.metrics.messages.inc({ subject: this.contract.prefix, direction: "in", outcome: "ok" });
    } catch (err) {
      this.bus.log.error({ err, subject: m.subject }, "live event handler failed");
    }
  }
}
