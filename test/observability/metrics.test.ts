// A running mesh (`pnpm start`, every service on its own port) read as Prometheus reads it:
// every port serves /metrics with prom-client's defaults and the mirror_* metrics of the issue,
// with the right types and Prometheus naming; and every metric the shipped dashboards and alert
// rules query is one the mesh really exports.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SERVICE_NAMES } from "../mesh-services.js";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { type Family, familyOf, metricNamesIn, parseExposition } from "./exposition.js";
import { type ObservedMesh, startObservedMesh } from "./mesh.js";
import { alertQueries, dashboardQueries, type Query } from "./queries.js";

let nats: ServerHandle;
let redis: ServerHandle;
let obs: ObservedMesh;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  obs = await startObservedMesh(nats, redis);
});
after(async () => {
  await obs?.stop();
  await Promise.all([nats.dispose(), redis.dispose()]);
});

async function scrape(service: string): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${obs.ports[service]}/metrics`);
  assert.equal(res.status, 200, `${service} /metrics`);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** Scrapes every service until `ready` holds for all of them (some samples appear after work is done). */
async function scrapeAll(
  ready: (service: string, f: Map<string, Family>) => boolean = () => true,
): Promise<Map<string, Map<string, Family>>> {
  let waiting: string[] = [];
  return waitFor(
    "every service's /metrics",
    async () => {
      const all = new Map<string, Map<string, Family>>();
      for (const s of SERVICE_NAMES) all.set(s, await scrape(s));
      waiting = [...all].filter(([s, f]) => !ready(s, f)).map(([s]) => s);
      return waiting.length === 0 ? all : undefined;
    },
    { timeout: 60_000 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; still waiting for ${waiting.join(", ")}`);
  });
}

/** Whether a series (a family's own name or its _bucket/_sum/_count) has a sample with these labels. */
const has = (f: Map<string, Family>, series: string, labels: Record<string, string> = {}) =>
  familyOf(f, series)?.samples.some(
    (s) => s.name === series && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  ) ?? false;

/** Per service, a sample that shows its own metrics at work once the dirty repo went through. */
const WORKED: Record<string, [string, Record<string, string>]> = {
  scanner: ["mirror_scanner_scan_duration_seconds_count", {}],
  "service-tracker": ["mirror_probe_success", { check: "web" }],
  "loop-detector": ["mirror_loops_open", { kind: "repo.dirty" }],
  notifier: ["mirror_notify_deliveries_total", { channel: "hook", outcome: "sent" }],
  "model-rules": ["mirror_model_requests_total", { endpoint: "triage" }],
  history: ["mirror_history_results_total", { outcome: "recorded" }],
  // The console keeps no figures of its own beyond the bus kit's: the events it consumed live.
  console: ["mirror_bus_messages_total", { direction: "in", outcome: "ok" }],
};

const BUS_AND_DEFAULTS: Record<string, string> = {
  mirror_bus_messages_total: "counter",
  mirror_bus_handle_seconds: "histogram",
  mirror_bus_dlq_total: "counter",
  mirror_bus_connected: "gauge",
  mirror_bus_consumer_pending: "gauge",
  mirror_store_connected: "gauge",
  process_cpu_seconds_total: "counter",
  process_resident_memory_bytes: "gauge",
  nodejs_eventloop_lag_p99_seconds: "gauge",
};

test("every service port serves the bus kit's metrics, prom-client's defaults and its own mirror_* metrics", async () => {
  // A repo dirtied now is triaged at once (the one dirty at start may have met no model yet).
  writeFileSync(join(obs.clean, "todo.txt"), "later\n");
  const all = await scrapeAll((s, f) => has(f, ...(WORKED[s] as [string, Record<string, string>])));
  for (const [service, f] of all) {
    for (const [name, type] of Object.entries(BUS_AND_DEFAULTS))
      assert.equal(f.get(name)?.type, type, `${service}: ${name} is a ${type}`);
    assert.equal(f.get("mirror_bus_connected")?.samples[0]?.value, 1, `${service} is connected to NATS`);
    assert.equal(f.get("mirror_store_connected")?.samples[0]?.value, 1, `${service} is connected to Redis`);
  }
  const expect = (service: string, name: string, type: string, labels: string[] = []) => {
    const f = all.get(service)?.get(name);
    assert.equal(f?.type, type, `${service}: ${name} is a ${type}`);
    for (const l of labels)
      assert.ok(
        f?.samples.some((s) => l in s.labels),
        `${service}: ${name} has a ${l} label`,
      );
  };
  expect("loop-detector", "mirror_loops_open", "gauge", ["kind", "severity"]);
  expect("notifier", "mirror_notify_deliveries_total", "counter", ["channel", "outcome"]);
  expect("scanner", "mirror_scanner_scan_duration_seconds", "histogram");
  expect("service-tracker", "mirror_tracker_state", "gauge", ["check", "state"]);
  expect("service-tracker", "mirror_tracker_probe_seconds", "histogram", ["kind"]);
  expect("model-rules", "mirror_model_requests_total", "counter", ["adapter", "endpoint", "outcome"]);
  // The loop-detector consumed the dirty repo's snapshot: its bus counters and lag are labelled. The
  // count comes once the handler has returned, a moment after the loop it opened was stored.
  const consumed = await waitFor(
    "the loop-detector's count of consumed snapshots",
    async () => {
      const f = await scrape("loop-detector");
      return has(f, "mirror_bus_messages_total", { subject: "mirror.repo.snapshot", direction: "in", outcome: "ok" })
        ? f
        : undefined;
    },
    { timeout: 20_000 },
  );
  all.set("loop-detector", consumed);
  expect("loop-detector", "mirror_bus_messages_total", "counter", ["subject", "direction", "outcome"]);
  await waitFor(
    "the loop-detector's consumer lag gauge",
    async () => has(await scrape("loop-detector"), "mirror_bus_consumer_pending", { consumer: "loop-detector-repo" }),
    { timeout: 20_000 },
  );
});

test("every mirror_* metric follows Prometheus naming", async () => {
  for (const [service, f] of await scrapeAll()) {
    for (const fam of f.values()) {
      if (!fam.name.startsWith("mirror_")) continue;
      const where = `${service}: ${fam.name} (${fam.type})`;
      assert.match(fam.name, /^mirror_[a-z][a-z0-9_]*[a-z0-9]$/, `${where}: lower snake case`);
      assert.ok(fam.help.length > 0, `${where}: has HELP`);
      assert.equal(
        fam.type === "counter",
        fam.name.endsWith("_total"),
        `${where}: counters and only counters end in _total`,
      );
      assert.doesNotMatch(
        fam.name,
        /_(ms|millis|milliseconds|minutes|hours|kb|mb|percent)(_|$)/,
        `${where}: base units (seconds, bytes, ratios)`,
      );
      if (fam.type === "histogram" || fam.type === "summary")
        assert.match(fam.name, /_(seconds|bytes)$/, `${where}: a distribution names its unit`);
    }
  }
});

/** Fails with every query that names a metric no service of the running mesh exports. */
async function assertExported(queries: Query[]): Promise<void> {
  assert.ok(queries.length > 0, "there are queries to check");
  const all = await scrapeAll();
  const known = (name: string) => [...all.values()].some((f) => familyOf(f, name));
  const missing = queries.flatMap((q) =>
    metricNamesIn(q.expr)
      .filter((n) => !known(n))
      .map((n) => `${q.where}: ${n} in ${q.expr}`),
  );
  assert.deepEqual(missing, [], `metrics queried but not exported by the running mesh:\n${missing.join("\n")}`);
  assert.ok(queries.some((q) => metricNamesIn(q.expr).length > 0));
}

test("every metric the Grafana dashboards query is exported by the running mesh", async () => {
  await assertExported(dashboardQueries());
});

test("every metric the alert rules use is exported by the running mesh", async () => {
  await assertExported(alertQueries());
});
