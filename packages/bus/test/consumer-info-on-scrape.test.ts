// A durable consumer's JetStream figures are read when /metrics is scraped, not on a timer: an
// idle service asks nats-server nothing (issue 25, idle CPU).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { heartbeat } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { type ServerHandle, startNats, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { BusMetrics, type ConsumerFigures } from "../src/metrics.js";

const silent = createLogger("test", { write: () => true } as never, "silent");
const figures = (pending: number): ConsumerFigures => ({
  num_pending: pending,
  num_ack_pending: 0,
  num_redelivered: 0,
  created: "2026-01-01T00:00:00Z",
  ack_floor: {},
});
const sample = async (registry: Registry, name: string, consumer: string) =>
  (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.consumer === consumer)?.value;

let nats: ServerHandle;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats.dispose();
});

test("consumer info is read once per scrape (shared by its gauges), at most every 5 s, and never without a scrape", async () => {
  const registry = new Registry();
  const m = new BusMetrics(registry);
  let reads = 0;
  const unwatch = m.watchConsumer("c", async () => figures(++reads));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(reads, 0, "nothing is read until a scrape");
  const text = await registry.metrics();
  assert.equal(reads, 1, "one read for every consumer gauge of the scrape");
  assert.match(text, /mirror_jetstream_consumer_pending\{consumer="c"\} 1/);
  await registry.metrics();
  assert.equal(reads, 1, "a scrape within 5 s shows the figures already read");
  await m.refreshConsumers(Date.now() + 5_000);
  assert.equal(reads, 2);
  unwatch();
  await m.refreshConsumers(Date.now() + 10_000);
  assert.equal(reads, 2, "an unwatched consumer is not read");
});

test("a scrape waits at most about a second for consumer info that does not come", async () => {
  const registry = new Registry();
  const m = new BusMetrics(registry);
  m.watchConsumer("stuck", () => new Promise<ConsumerFigures | undefined>(() => undefined));
  const t0 = performance.now();
  await registry.metrics();
  const took = performance.now() - t0;
  assert.ok(took >= 900 && took < 3_000, `${took} ms`);
});

test("a real consumer's pending messages show on a scrape", { timeout: 30_000 }, async () => {
  const producer = await Bus.connect({ name: "scrape-producer", url: nats.url, log: silent, registry: new Registry() });
  const registry = new Registry();
  const consumer = await Bus.connect({ name: "scrape-consumer", url: nats.url, log: silent, registry });
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  try {
    consumer.consume(heartbeat, "scrape-consumer", () => held, {
      filter: "mirror.heartbeat.scrape.>",
      concurrency: 1,
    });
    for (let i = 0; i < 5; i++)
      await producer.publish(
        heartbeat,
        `scrape.s${i}`,
        { name: `s${i}`, kind: "success", at: new Date().toISOString() },
        { id: `scrape-${i}` },
      );
    // One held in progress by the stuck handler; the rest wait in the stream or in the pull.
    let at = Date.now();
    await waitFor(
      "all five counted as waiting",
      async () => {
        at += 5_000;
        await consumer.metrics.refreshConsumers(at);
        return (await sample(registry, "mirror_bus_consumer_pending", "scrape-consumer")) === 5;
      },
      { timeout: 20_000, interval: 200 },
    );
  } finally {
    release();
    await Promise.all([producer.close(), consumer.close()]);
  }
});
