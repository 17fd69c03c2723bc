import assert from "node:assert/strict";
import { test } from "node:test";
import { DlqReason } from "@mirror/contracts";
import { Registry } from "prom-client";
import { BusMetrics } from "../src/metrics.js";

const sample = async (registry: Registry, name: string, labels: Record<string, string>) =>
  (await registry.getSingleMetric(name)?.get())?.values.find((v) =>
    Object.entries(labels).every(([k, x]) => v.labels[k] === x),
  )?.value;

test("every dead-letter reason exists at 0 from start-up, so the first dead letter is an increase", async () => {
  const registry = new Registry();
  new BusMetrics(registry);
  for (const reason of DlqReason.options)
    assert.equal(await sample(registry, "mirror_bus_dlq_total", { reason }), 0, reason);
});

test("a consumer's JetStream figures: pending, ack pending, redelivered, and the ack floor's age only while messages wait", async () => {
  const registry = new Registry();
  const m = new BusMetrics(registry);
  const now = Date.parse("2026-01-01T00:10:00Z");
  m.recordConsumer(
    "notifier",
    {
      num_pending: 3,
      num_ack_pending: 2,
      num_redelivered: 1,
      created: "2026-01-01T00:00:00Z",
      ack_floor: { last_active: "2026-01-01T00:07:30Z" },
    },
    now,
  );
  assert.equal(await sample(registry, "mirror_jetstream_consumer_pending", { consumer: "notifier" }), 3);
  assert.equal(await sample(registry, "mirror_jetstream_consumer_ack_pending", { consumer: "notifier" }), 2);
  assert.equal(await sample(registry, "mirror_jetstream_consumer_redelivered", { consumer: "notifier" }), 1);
  assert.equal(
    await sample(registry, "mirror_jetstream_consumer_ack_floor_age_seconds", { consumer: "notifier" }),
    150,
  );
  assert.equal(await sample(registry, "mirror_bus_consumer_pending", { consumer: "notifier" }), 5);
  // Never acked: the age counts from the consumer's creation. nats.js types last_active as a number.
  m.recordConsumer(
    "fresh",
    {
      num_pending: 1,
      num_ack_pending: 0,
      num_redelivered: 0,
      created: "2026-01-01T00:09:00Z",
      ack_floor: { last_active: 0 },
    },
    now,
  );
  assert.equal(await sample(registry, "mirror_jetstream_consumer_ack_floor_age_seconds", { consumer: "fresh" }), 60);
  m.recordConsumer(
    "notifier",
    {
      num_pending: 0,
      num_ack_pending: 0,
      num_redelivered: 0,
      created: "2026-01-01T00:00:00Z",
      ack_floor: { last_active: "2026-01-01T00:07:30Z" },
    },
    now,
  );
  assert.equal(
    await sample(registry, "mirror_jetstream_consumer_ack_floor_age_seconds", { consumer: "notifier" }),
    0,
    "nothing waits: nothing is stuck",
  );
});
