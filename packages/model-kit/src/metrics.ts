import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Metrics every model adapter exports, labelled by adapter so two adapters side by side stay apart. */
export class ModelMetrics {
  readonly requests: Counter<"adapter" | "endpoint" | "outcome">;
  readonly latency: Histogram<"adapter" | "endpoint">;
  readonly tokens: Counter<"adapter" | "direction">;
  readonly inFlight: Gauge<"adapter">;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: "mirror_model_requests_total",
      help: "Model requests answered, by adapter, endpoint and outcome (ok, retried_ok, bad_output, timeout, unavailable, http_error, busy)",
      labelNames: ["adapter", "endpoint", "outcome"],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: "mirror_model_latency_seconds",
      help: "Time to answer a model request, including the wait for a slot",
      labelNames: ["adapter", "endpoint"],
      buckets: [0.005, 0.05, 0.25, 1, 2.5, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    });
    this.tokens = new Counter({
      name: "mirror_model_tokens_total",
      help: "Tokens reported by the model server, by direction (input, output)",
      labelNames: ["adapter", "direction"],
      registers: [registry],
    });
    this.inFlight = new Gauge({
      name: "mirror_model_in_flight",
      help: "Calls to the model server in flight",
      labelNames: ["adapter"],
      registers: [registry],
    });
  }
}
