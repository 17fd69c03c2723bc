import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { loopMetrics } from "../src/metrics.js";
import type { LoopStore } from "../src/store.js";

test("both triage outcomes exist at 0 from start-up, so the first failed triage is an increase", async () => {
  const registry = new Registry();
  // The store is read only by the loop gauges' collect(), which this test does not scrape.
  loopMetrics(registry, {} as LoopStore);
  const values = (await registry.getSingleMetric("mirror_loop_triage_total")?.get())?.values ?? [];
  assert.deepEqual(values.map((v) => [v.labels.outcome, v.value]).sort(), [
    ["failed", 0],
    ["ok", 0],
  ]);
});
