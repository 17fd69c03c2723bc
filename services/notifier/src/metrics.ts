import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The outcomes `mirror_notify_deliveries_total` counts. */
export const DELIVERY_OUTCOMES = ["sent", "retry", "failed", "rate_limited", "claim_lost"] as const;

/** The notifier's metrics (names prefixed `mirror_`). */
export class NotifyMetrics {
  readonly deliveries: Counter<"channel" | "outcome">;
  readonly seconds: Histogram<"channel">;
  readonly pending: Gauge;
  readonly templateErrors: Counter<"channel">;
  /** `channels`: every configured channel's deliveries exist at 0 from start-up, so an alert on increase() sees the first one. */
  constructor(registry: Registry, channels: readonly string[] = []) {
    this.deliveries = new Counter({
      name: "mirror_notify_deliveries_total",
      help: "Delivery attempts by channel and outcome (sent, retry, failed, rate_limited, claim_lost: another replica holds the delivery)",
      labelNames: ["channel", "outcome"],
      registers: [registry],
    });
    for (const channel of channels)
      for (const outcome of DELIVERY_OUTCOMES) this.deliveries.inc({ channel, outcome }, 0);
    this.seconds = new Histogram({
      name: "mirror_notify_delivery_seconds",
      help: "Time of one delivery attempt",
      labelNames: ["channel"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.pending = new Gauge({
      name: "mirror_notify_pending",
      help: "Deliveries owed (waiting, retrying or parked behind an earlier one)",
      registers: [registry],
    });
    this.templateErrors = new Counter({
      name: "mirror_notify_template_missing_total",
      help: "Template fields that rendered empty because the message lacks them",
      labelNames: ["channel"],
      registers: [registry],
    });
  }
}
