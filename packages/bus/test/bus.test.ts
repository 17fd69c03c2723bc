import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus, RetryableError } from "@mirror/bus";
import { DeadLetter, defineEndpoint, heartbeat } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { startNats, waitFor, type ServerHandle } from "@mirror/testkit";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import { z } from "zod";
import { raw } from "@mirror/bus/testing";

let nats: ServerHandle;
const silent = createLogger("test", { write: () => true } as never, "silent");

before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats.dispose();
});

async function newBus(name: string) {
  return Bus.connect({ name, url: nats.url, log: silent, registry: new Registry(), publishDeadlineMs: 10_000 });
}

test("publish validates, sets CloudEvents headers and de-duplicates by id", async () => {
  const bus = await newBus("pub-test");
  try {
    const data = { name: "job", kind: "success", at: new Date().toISOString() };
    const first = await bus.publish(heartbeat, "job", data, { id: "hb-1" });
    const second = await bus.publish(heartbeat, "job", data, { id: "hb-1" });
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    await assert.rejects(bus.publish(heartbeat, "job", { name: "" }), /invalid mirror.heartbeat.v1.*name/);
    const jsm = await jetstreamManager(raw(bus).nc);
    const msg = await jsm.streams.getMessage("MIRROR", { seq: first.seq });
    assert.equal(msg?.header.get("ce-type"), "mirror.heartbeat.v1");
    assert.equal(msg?.header.get("ce-source"), "pub-test");
    assert.equal(msg?.header.get("Nats-Msg-Id"), "hb-1");
  } finally {
    await bus.close();
  }
});

test("consume delivers valid events, retries retryable failures and dead-letters garbage", async () => {
  const bus = await newBus("consume-test");
  const seen: string[] = [];
  let failOnce = true;
  bus.consume(
    heartbeat,
    "consume-test",
    async (data, ctx) => {
      if (data.name === "flaky" && failOnce) {
        failOnce = false;
        throw new RetryableError("not yet", { delayMs: 50 });
      }
      seen.push(`${data.name}@${ctx.deliveries}`);
    },
    { filter: "mirror.heartbeat.t1.>" },
  );
  const raw = await connect({ servers: nats.url });
  const js = jetstream(raw);
  try {
    await bus.publish(heartbeat, "t1.ok", { name: "ok", at: new Date().toISOString() });
    await bus.publish(heartbeat, "t1.flaky", { name: "flaky", at: new Date().toISOString() });
    await js.publish("mirror.heartbeat.t1.garbage", "{not json");
    await js.publish("mirror.heartbeat.t1.badschema", JSON.stringify({ name: 42 }));
    // Brackets inside a string do not count; 100 levels of real nesting do.
    await js.publish(
      "mirror.heartbeat.t1.deep",
      `{"name":"[[[[","at":"${new Date().toISOString()}","x":${"[".repeat(100)}${"]".repeat(100)}}`,
    );
    await waitFor("both delivered", () => seen.length === 2 && seen);
    assert.ok(seen.includes("ok@1"));
    assert.ok(seen.includes("flaky@2"));
    const jsm = await jetstreamManager(raw);
    const dead = await waitFor("three dead letters", async () => {
      const info = await jsm.streams.info("MIRROR_DLQ");
      return info.state.messages >= 3 && info;
    });
    assert.ok(dead.state.messages >= 3);
    const reasons = new Set<string>();
    const errors = new Map<string, string>();
    for (let seq = dead.state.first_seq; seq <= dead.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage("MIRROR_DLQ", { seq });
      if (!m) continue;
      const letter = DeadLetter.parse(m.json());
      reasons.add(letter.reason);
      errors.set(letter.subject, letter.error);
    }
    assert.ok(reasons.has("invalid_json"));
    assert.ok(reasons.has("invalid_schema"));
    assert.equal(errors.get("mirror.heartbeat.t1.deep"), "payload nests deeper than 64 levels");
    const metrics = await (bus.metrics.dlq as unknown as { get(): Promise<{ values: { value: number }[] }> }).get();
    assert.equal(
      metrics.values.reduce((a, v) => a + v.value, 0),
      3,
    );
  } finally {
    await raw.close();
    await bus.close();
  }
});

test("request/reply endpoints are validated and discoverable with $SRV.PING", async () => {
  const server = await newBus("echo-svc");
  const client = await newBus("echo-client");
  const echo = defineEndpoint({
    name: "echo",
    subject: "mirror.test.echo",
    request: z.object({ text: z.string() }),
    reply: z.object({ text: z.string() }),
  });
  await server.service({
    version: "1.0.0",
    endpoints: [{ contract: echo, handle: async (req) => ({ text: (req as { text: string }).text.toUpperCase() }) }],
  });
  try {
    assert.deepEqual(await client.request(echo, { text: "hi" }), { text: "HI" });
    const bad = await raw(client).nc.request("mirror.test.echo", "{", { timeout: 2_000 });
    assert.equal(bad.headers?.get("Nats-Service-Error-Code"), "400");
    const pings: string[] = [];
    const inbox = raw(client).nc.subscribe("_INBOX.ping-test", {
      callback: (_e, m) => void pings.push(m.json<{ name: string }>().name),
    });
    raw(client).nc.publish("$SRV.PING", "", { reply: "_INBOX.ping-test" });
    await waitFor("ping reply", () => pings.includes("echo-svc"));
    inbox.unsubscribe();
  } finally {
    await client.close();
    await server.close();
  }
});
