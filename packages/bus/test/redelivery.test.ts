import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus, DURABLE_DEFAULTS } from "@mirror/bus";
import { heartbeat, STREAM } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { type ServerHandle, startNats, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { raw } from "@mirror/bus/testing";

const silent = createLogger("test", { write: () => true } as never, "silent");
const BURST = 1_000;
const SUBJECTS = 100;
/** Handler time per event: the burst takes several ack waits (1 s: the first backoff step) to drain. */
const WORK_MS = 25;
/** A few handlers outlast two ack waits: kept alive while they run. */
const LONG_MS = 2_500;

let nats: ServerHandle;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats.dispose();
});

test("a burst of 1,000 events with a slowish handler and nothing killed is delivered once each: no redelivery", {
  timeout: 120_000,
}, async () => {
  assert.equal(
    DURABLE_DEFAULTS.backoffMs[0],
    1_000,
    "the server's ack wait for a first delivery is the first backoff step",
  );
  const producer = await Bus.connect({
    name: "burst-producer",
    url: nats.url,
    log: silent,
    registry: new Registry(),
    publishDeadlineMs: 30_000,
  });
  const consumer = await Bus.connect({ name: "burst-consumer", url: nats.url, log: silent, registry: new Registry() });
  const deliveries: { name: string; n: number; deliveries: number }[] = [];
  const order = new Map<string, number[]>();
  const backlogs: number[] = [];
  try {
    // The event's number rides in the milliseconds of `at`. The whole burst is stored before the consumer starts, so it finds a backlog of 1,000.
    for (let i = 0; i < BURST; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => {
          const n = i + j;
          return producer.publish(
            heartbeat,
            `burst.s${n % SUBJECTS}`,
            { name: `s${n % SUBJECTS}`, kind: "success", at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString() },
            { id: `burst-${n}` },
          );
        }),
      );
    }
    consumer.consume(
      heartbeat,
      "burst-consumer",
      async (d, ctx) => {
        const n = new Date(d.at ?? 0).getUTCMilliseconds();
        deliveries.push({ name: d.name, n, deliveries: ctx.deliveries });
        backlogs.push(ctx.backlog);
        order.set(d.name, [...(order.get(d.name) ?? []), n]);
        // The handler's I/O (a store write, an HTTP call), as time spent waiting.
        await new Promise((r) => setTimeout(r, n % 250 === 7 ? LONG_MS : WORK_MS));
      },
      { filter: "mirror.heartbeat.burst.>" },
    );
    const jsm = await raw(consumer).manager();
    const info = await waitFor(
      "every event handled and acked",
      async () => {
        const c = await jsm.consumers.info(STREAM.name, "burst-consumer");
        return deliveries.length >= BURST && c.num_pending === 0 && c.num_ack_pending === 0 && c;
      },
      { timeout: 90_000, interval: 100 },
    );
    const again = deliveries.filter((d) => d.deliveries > 1);
    // ctx.backlog: the others held beside a message, at most the consumer's slots (16) but one.
    assert.ok(Math.max(...backlogs) > 0, "a stored burst is handled with others held");
    assert.ok(
      backlogs.every((b) => b >= 0 && b <= 15),
      `backlog within 0..15: ${Math.max(...backlogs)}`,
    );
    assert.deepEqual(again.slice(0, 5), [], `${again.length} deliveries were redeliveries`);
    assert.equal(deliveries.length, BURST, "each event handled once");
    assert.equal(info.delivered.consumer_seq, BURST, "the server delivered each event once");
    assert.equal(info.num_redelivered, 0);
    for (const [name, seen] of order)
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
        `${name} handled in order`,
      );
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
  }
});

test("a consumer waiting on an open pull keeps consuming after nats-server is killed and restarted", {
  timeout: 120_000,
}, async () => {
  const producer = await Bus.connect({
    name: "restart-producer",
    url: nats.url,
    log: silent,
    registry: new Registry(),
    publishDeadlineMs: 30_000,
  });
  const consumer = await Bus.connect({
    name: "restart-consumer",
    url: nats.url,
    log: silent,
    registry: new Registry(),
  });
  const seen: string[] = [];
  try {
    consumer.consume(heartbeat, "restart-consumer", async (d) => void seen.push(d.name), {
      filter: "mirror.heartbeat.restart.>",
    });
    await producer.publish(heartbeat, "restart.a", { name: "before", kind: "success", at: new Date().toISOString() });
    await waitFor("the event before the restart", () => seen.includes("before"));
    await nats.kill();
    await nats.restart();
    await producer.publish(heartbeat, "restart.a", { name: "after", kind: "success", at: new Date().toISOString() });
    await waitFor("the event after the restart", () => seen.includes("after"), { timeout: 60_000, interval: 100 });
    // A killed server may lose the plain +ACK of "before" and deliver it again; that is a failure's redelivery.
    assert.deepEqual([...new Set(seen)], ["before", "after"]);
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
  }
});
