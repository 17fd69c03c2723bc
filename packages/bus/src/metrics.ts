import { DlqReason } from "@mirror/contracts";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The fields of a JetStream ConsumerInfo that the metrics read. */
export interface ConsumerFigures {
  num_pending: number;
  num_ack_pending: number;
  num_redelivered: number;
  created: string;
  /** nats-server sends `last_active` as an RFC 3339 time (nats.js types it as nanoseconds). */
  ack_floor: { last_active?: string | number };
}

/** The fields of a JetStream StreamState that the metrics read. */
export interface StreamFigures {
  messages: number;
  bytes: number;
  consumer_count: number;
  first_ts: string;
}

/** Consumer info is read at most this often, however often /metrics is scraped. */
const CONSUMER_INFO_MIN_MS = 5_000;
/** A scrape waits at most this long for consumer info; what did not come keeps its last value. */
const CONSUMER_INFO_WAIT_MS = 1_000;

/** Bus metrics, added once here for every service. */
export class BusMetrics {
  readonly messages: Counter<"subject" | "direction" | "outcome">;
  readonly handleSeconds: Histogram<"subject">;
  readonly dlq: Counter<"reason">;
  readonly connected: Gauge;
  readonly pending: Gauge<"consumer">;
  readonly reconnects: Counter;
  readonly jetstream: {
    pending: Gauge<"consumer">;
    ackPending: Gauge<"consumer">;
    redelivered: Gauge<"consumer">;
    ackFloorAge: Gauge<"consumer">;
  };
  readonly stream: {
    messages: Gauge<"stream">;
    bytes: Gauge<"stream">;
    consumers: Gauge<"stream">;
    firstAge: Gauge<"stream">;
  };
  private readonly consumerReaders = new Map<string, () => Promise<ConsumerFigures | undefined>>();
  private readonly consumerRead = new ScrapeRead();
  private streamReader: (() => Promise<void>) | undefined;
  private readonly streamRead = new ScrapeRead();

  constructor(registry: Registry) {
    const registers = [registry];
    this.messages = new Counter({
      name: "mirror_bus_messages_total",
      help: "Bus messages by subject family, direction (in|out) and outcome",
      labelNames: ["subject", "direction", "outcome"],
      registers,
    });
    this.handleSeconds = new Histogram({
      name: "mirror_bus_handle_seconds",
      help: "Time spent handling one consumed message",
      labelNames: ["subject"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.dlq = new Counter({
      name: "mirror_bus_dlq_total",
      help: "Messages dead-lettered, by reason",
      labelNames: ["reason"],
      registers,
    });
    // Every reason exists at 0 from start-up: an alert on increase() sees the first dead letter.
    for (const reason of DlqReason.options) this.dlq.inc({ reason }, 0);
    this.connected = new Gauge({ name: "mirror_bus_connected", help: "1 while connected to NATS", registers });
    // The consumer figures are read from JetStream when /metrics is scraped (prom-client's
    // collect), not on a timer: an idle service asks nats-server nothing.
    const collect = () => this.refreshConsumers();
    this.pending = new Gauge({
      name: "mirror_bus_consumer_pending",
      help: "Messages not yet delivered or not yet acked, per durable consumer",
      labelNames: ["consumer"],
      registers,
      collect,
    });
    this.reconnects = new Counter({ name: "mirror_bus_reconnects_total", help: "NATS reconnections", registers });
    // Likewise the streams' figures, for the member that watches them (the loop-detector).
    const collectStreams = () => this.refreshStreams();
    const streamGauge = (name: string, help: string) =>
      new Gauge({
        name: `mirror_jetstream_stream_${name}`,
        help,
        labelNames: ["stream"],
        registers,
        collect: collectStreams,
      });
    this.stream = {
      messages: streamGauge("messages", "Messages stored in the stream (JetStream state.messages)"),
      bytes: streamGauge("bytes", "Bytes stored in the stream (JetStream state.bytes)"),
      consumers: streamGauge("consumers", "Consumers of the stream (JetStream state.consumer_count)"),
      firstAge: streamGauge("first_age_seconds", "Age of the oldest stored message: how far back the history reaches"),
    };
    const consumerGauge = (name: string, help: string) =>
      new Gauge({ name: `mirror_jetstream_consumer_${name}`, help, labelNames: ["consumer"], registers, collect });
    this.jetstream = {
      pending: consumerGauge(
        "pending",
        "Messages of the stream not yet delivered to this durable consumer (JetStream num_pending)",
      ),
      ackPending: consumerGauge("ack_pending", "Messages delivered and not yet acked (JetStream num_ack_pending)"),
      redelivered: consumerGauge(
        "redelivered",
        "Messages delivered more than once and not yet acked (JetStream num_redelivered)",
      ),
      ackFloorAge: consumerGauge(
        "ack_floor_age_seconds",
        "Seconds since the consumer's ack floor last moved while messages wait; 0 when nothing waits",
      ),
    };
  }

  /**
   * Registers how to read one durable consumer's info; the consumer gauges read it when scraped
   * (at most every 5 s). Returns the unregistration.
   */
  watchConsumer(consumer: string, read: () => Promise<ConsumerFigures | undefined>): () => void {
    this.consumerReaders.set(consumer, read);
    return () => {
      if (this.consumerReaders.get(consumer) === read) this.consumerReaders.delete(consumer);
    };
  }

  /** Reads every watched consumer's info (one read shared by the gauges of a scrape), bounded in time. */
  refreshConsumers(now = Date.now()): Promise<void> {
    if (this.consumerReaders.size === 0) return Promise.resolve();
    return this.consumerRead.run(now, () =>
      Promise.allSettled(
        [...this.consumerReaders].map(async ([consumer, read]) => {
          const info = await read();
          if (info) this.recordConsumer(consumer, info);
        }),
      ),
    );
  }

  /**
   * Registers how to read the streams' state (`read` calls recordStream); the stream gauges read
   * it when scraped, at most every 5 s, as the consumer gauges do. Returns the unregistration.
   */
  watchStreams(read: () => Promise<void>): () => void {
    this.streamReader = read;
    return () => {
      if (this.streamReader === read) this.streamReader = undefined;
    };
  }

  /** Reads the streams' state for the stream gauges of a scrape, bounded in time. */
  refreshStreams(now = Date.now()): Promise<void> {
    const read = this.streamReader;
    if (!read) return Promise.resolve();
    return this.streamRead.run(now, read);
  }

  /** JetStream's figures for one stream, from stream info (read by an identity with `readsHistory`). */
  recordStream(stream: string, state: StreamFigures, now = Date.now()): void {
    this.stream.messages.set({ stream }, state.messages);
    this.stream.bytes.set({ stream }, state.bytes);
    this.stream.consumers.set({ stream }, state.consumer_count);
    const first = Date.parse(state.first_ts);
    this.stream.firstAge.set(
      { stream },
      state.messages > 0 && Number.isFinite(first) ? Math.max(0, (now - first) / 1000) : 0,
    );
  }

  /**
   * JetStream's own figures for one durable consumer, from its consumer info (read when /metrics
   * is scraped): NATS health in Prometheus without prometheus-nats-exporter or a monitoring port.
   */
  recordConsumer(consumer: string, info: ConsumerFigures, now = Date.now()): void {
    const waiting = info.num_pending + info.num_ack_pending;
    this.pending.set({ consumer }, waiting);
    this.jetstream.pending.set({ consumer }, info.num_pending);
    this.jetstream.ackPending.set({ consumer }, info.num_ack_pending);
    this.jetstream.redelivered.set({ consumer }, info.num_redelivered);
    const last = info.ack_floor.last_active;
    const since = Date.parse(typeof last === "string" ? last : info.created);
    this.jetstream.ackFloorAge.set(
      { consumer },
      waiting > 0 && Number.isFinite(since) ? Math.max(0, (now - since) / 1000) : 0,
    );
  }
}

/**
 * A read made when /metrics is scraped: one at a time (the gauges of one scrape share it), at most
 * every CONSUMER_INFO_MIN_MS, and a scrape waits for it at most CONSUMER_INFO_WAIT_MS.
 */
class ScrapeRead {
  private inFlight: Promise<void> | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;

  run(now: number, read: () => Promise<unknown>): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (now - this.lastAt < CONSUMER_INFO_MIN_MS) return Promise.resolve();
    this.lastAt = now;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CONSUMER_INFO_WAIT_MS);
      timer.unref();
    });
    const work = read().then(
      () => undefined,
      () => undefined,
    );
    this.inFlight = Promise.race([work, waited]).finally(() => {
      clearTimeout(timer);
      this.inFlight = undefined;
    });
    return this.inFlight;
  }
}

/** Low-cardinality label for a subject: its first three tokens ("mirror.repo.snapshot"). */
export function subjectFamily(subject: string): string {
  return subject.split(".").slice(0, 3).join(".");
}
