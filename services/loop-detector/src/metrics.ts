import { Counter, Gauge, type Registry } from "prom-client";
import type { LoopStore } from "./store.js";

/** The loop-detector's metrics; the loop counts come from Redis, so every replica reports the same. */
export function loopMetrics(registry: Registry, store: LoopStore) {
  const read = async () => {
    const out: { kind: string; severity: string; status: string; n: number }[] = [];
    for (const [field, n] of Object.entries(await store.counts())) {
      const [kind = "", severity = "", status = ""] = field.split("|");
      if (n > 0) out.push({ kind, severity, status, n });
    }
    return out;
  };
  new Gauge({
    name: "mirror_loops_open",
    help: "Loops not closed (open, acknowledged, snoozed, suppressed, maintenance), by kind and severity",
    labelNames: ["kind", "severity"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await read()) if (c.status !== "closed") this.inc({ kind: c.kind, severity: c.severity }, c.n);
    },
  });
  new Gauge({
    name: "mirror_loops",
    help: "Stored loops by kind, severity and status",
    labelNames: ["kind", "severity", "status"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await read()) this.set({ kind: c.kind, severity: c.severity, status: c.status }, c.n);
    },
  });
  const triage = new Counter({
    name: "mirror_loop_triage_total",
    help: "Triage requests by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  // Both outcomes exist at 0 from start-up: the dashboard's rate() sees the first failed triage.
  for (const outcome of ["ok", "failed"]) triage.inc({ outcome }, 0);
  return {
    events: new Counter({
      name: "mirror_loop_events_total",
      help: "Loop events stored for publishing",
      labelNames: ["event", "kind"],
      registers: [registry],
    }),
    stale: new Counter({
      name: "mirror_loop_inputs_stale_total",
      help: "Inputs ignored because a newer one was already stored",
      labelNames: ["source"],
      registers: [registry],
    }),
    rejected: new Counter({
      name: "mirror_loop_inputs_rejected_total",
      help: "Inputs refused (outside the roots, mismatched keys)",
      labelNames: ["reason"],
      registers: [registry],
    }),
    siteIgnored: new Counter({
      name: "mirror_loop_site_status_ignored_total",
      help: "Statuses ignored because their probe site may not report the check (it does not run there, or another site's identity sent it), by site",
      labelNames: ["site", "reason"],
      registers: [registry],
    }),
    triage,
  };
}
export type LoopMetrics = ReturnType<typeof loopMetrics>;
