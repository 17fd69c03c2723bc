import { DlqReason } from "@mirror/contracts";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Bus metrics, added once here for every service. */
export class BusMetrics {
  readonly messages: Counter<"subject" | "direction" | "outcome">;
  readonly handleSeconds: Histogram<"subject">;
  readonly dlq: Counter<"reason">;
  readonly connected: Gauge;
  readonly pending: Gauge<"consumer">;
  readonly reconnects: Counter;

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
    this.dlq = new Counter({ name: "mirror_bus_dlq_total", help: "Messages dead-lettered, by reason", labelNames: ["reason"], registers });
    // Every reason exists at 0 from start-up: an alert on increase() sees the first dead letter.
    for (const reason of DlqReason.options) this.dlq.inc({ reason }, 0);
    this.connected = new Gauge({ name: "mirror_bus_connected", help: "1 while connected to NATS", registers });
    this.pending = new Gauge({
      name: "mirror_bus_consumer_pending",
      help: "Messages not yet delivered or not yet acked, per durable consumer",
      labelNames: ["consumer"],
      registers,
    });
    this.reconnects = new Counter({ name: "mirror_bus_reconnects_total", help: "NATS reconnections", registers });
  }
}

/** Low-cardinality label for a subject: its first three tokens ("mirror.repo.snapshot"). */
export function subjectFamily(subject: string): string {
  return subject.split(".").slice(0, 3).join(".");
}
