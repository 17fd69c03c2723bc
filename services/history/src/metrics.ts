import { HISTORY_WINDOWS } from "@mirror/contracts";
import { Counter, Gauge, type Registry } from "prom-client";
import type { HistoryQueries } from "./queries.js";
import type { RecordOutcome, Recorder } from "./recorder.js";

/** Above this many checks the per-check gauges are not exported (each costs a series per window). */
const MAX_EXPORTED_CHECKS = 500;

/**
 * `mirror_check_uptime_ratio{check,window}` and `mirror_check_incidents{check}` are read from
 * Redis when Prometheus scrapes, so they are what the console shows, not a copy that can drift.
 */
export function historyMetrics(
  registry: Registry,
  deps: { queries: () => HistoryQueries | undefined; recorder: () => Recorder | undefined },
) {
  const results = new Counter({
    name: "mirror_history_results_total",
    help: "Check results received, by what became of them",
    labelNames: ["outcome"],
    registers: [registry],
  });
  new Gauge({
    name: "mirror_history_buffered",
    help: "Check results held in memory while Redis is unavailable",
    registers: [registry],
    collect() {
      this.set(deps.recorder()?.buffered ?? 0);
    },
  });
  new Gauge({
    name: "mirror_check_uptime_ratio",
    help: "Share of a check's results that were up, per window",
    labelNames: ["check", "window"],
    registers: [registry],
    async collect() {
      const q = deps.queries();
      this.reset();
      if (!q) return;
      const names = (await q.checks().catch(() => [])).slice(0, MAX_EXPORTED_CHECKS);
      await Promise.all(
        HISTORY_WINDOWS.map(async (window) => {
          const values = await q.uptimeMany(names, window).catch(() => []);
          for (const [i, check] of names.entries()) {
            const v = values[i];
            if (typeof v === "number") this.set({ check, window }, v);
          }
        }),
      );
    },
  });
  new Gauge({
    name: "mirror_check_incidents",
    help: "Down or degraded periods of a check in the last 365 days (the one still open included)",
    labelNames: ["check"],
    registers: [registry],
    async collect() {
      const q = deps.queries();
      this.reset();
      if (!q) return;
      const names = (await q.checks().catch(() => [])).slice(0, MAX_EXPORTED_CHECKS);
      await Promise.all(
        names.map(async (check) =>
          this.set({ check }, (await q.summary(check, 1).catch(() => undefined))?.incidentCount ?? 0),
        ),
      );
    },
  });
  return { outcome: (o: RecordOutcome) => results.inc({ outcome: o }) };
}
