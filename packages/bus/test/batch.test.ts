// Issue 25: under load a producer puts many events of one contract in one message
// (CloudEvents batched mode, one signature); consumers, live feeds and history reads take them
// apart, and every event is still checked, handled, retried and dead-lettered on its own.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus, KeyringVerifier, nkeySigner, RetryableError, signHeaders } from "@mirror/bus";
import { raw } from "@mirror/bus/testing";
import { CE, DeadLetter, defineEvent } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { type ServerHandle, startNats, waitFor } from "@mirror/testkit";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, nkeys } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import { z } from "zod";

const silent = createLogger("test", { write: () => true } as never, "silent");
const te = new TextEncoder();
const Item = z.object({ n: z.number().int(), entity: z.string() });
const contract = (name: string) =>
  defineEvent({ type: "mirror.test.item.v1", prefix: `mirror.heartbeat.${name}`, schema: Item });
const scannerKey = nkeySigner(nkeys.createUser().getSeed());
const otherKey = nkeySigner(nkeys.createUser().getSeed());

let nats: ServerHandle;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats.dispose();
});

async function newBus(name: string, over: Partial<Parameters<typeof Bus.connect>[0]> = {}) {
  return Bus.connect({
    name,
    url: nats.url,
    log: silent,
    registry: new Registry(),
    publishDeadlineMs: 10_000,
    ...over,
  });
}

async function streamSubjects(filter: string): Promise<Record<string, number>> {
  const nc = await connect({ servers: nats.url });
  try {
    const info = await (await jetstreamManager(nc)).streams.info("MIRROR", { subjects_filter: filter });
    return info.state.subjects ?? {};
  } finally {
    await nc.close();
  }
}

async function deadLetters(since: number): Promise<DeadLetter[]> {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info("MIRROR_DLQ").catch(() => undefined);
    const out: DeadLetter[] = [];
    for (let seq = since + 1; info && seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage("MIRROR_DLQ", { seq }).catch(() => null);
      if (m) out.push(DeadLetter.parse(m.json()));
    }
    return out;
  } finally {
    await nc.close();
  }
}

async function dlqLastSeq(): Promise<number> {
  const nc = await connect({ servers: nats.url });
  try {
    const info = await (await jetstreamManager(nc)).streams.info("MIRROR_DLQ").catch(() => undefined);
    return info?.state.last_seq ?? 0;
  } finally {
    await nc.close();
  }
}

test("alone an event goes out as its own message; behind publishes in flight, events share batches", async () => {
  const c = contract("b1");
  const producer = await newBus("producer-b1");
  const consumer = await newBus("consumer-b1");
  const seen = new Map<string, { n: number; subject: string; id: string; time: string }>();
  try {
    const lone = await producer.publish(c, "alone", { n: 0, entity: "alone" }, { id: "lone-0" });
    assert.deepEqual(await streamSubjects(`${c.prefix}.>`), { [`${c.prefix}.alone`]: 1 });
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        producer.publish(
          c,
          `e${i}`,
          { n: i, entity: `e${i}` },
          { id: `item-${i}`, time: new Date(1_000 * i).toISOString() },
        ),
      ),
    );
    assert.equal(new Set(acks.map((a) => a.id)).size, 200, "each event keeps its own id");
    assert.ok(lone.seq > 0);
    const subjects = await streamSubjects(`${c.prefix}.>`);
    const batches = subjects[`${c.prefix}.~batch`] ?? 0;
    const lones = Object.values(subjects).reduce((a, b) => a + b, 0) - batches;
    assert.ok(batches > 0, `some events went out batched: ${JSON.stringify(subjects).slice(0, 300)}`);
    assert.ok(batches + lones < 201, `fewer messages than events: ${batches} batches, ${lones} alone`);

    consumer.consume(c, "consumer-b1", async (d, ctx) => {
      seen.set(ctx.subject, { n: d.n, subject: ctx.subject, id: ctx.id, time: ctx.time });
    });
    await waitFor("every event handled", () => seen.size === 201 && seen);
    for (let i = 0; i < 200; i++) {
      const e = seen.get(`${c.prefix}.e${i}`);
      assert.deepEqual(e, {
        n: i,
        subject: `${c.prefix}.e${i}`,
        id: `item-${i}`,
        time: new Date(1_000 * i).toISOString(),
      });
    }
    const history = await consumer.lastPerSubject(`${c.prefix}.>`);
    assert.equal(history.length, 201, "history reads every event out of its batch");
    const e7 = history.find((h) => h.subject === `${c.prefix}.e7`);
    assert.deepEqual(e7?.data, { n: 7, entity: "e7" });
    assert.equal(e7?.header(CE.id), "item-7");
    assert.equal(e7?.source, "producer-b1");
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
  }
});

test("events of one subject are handled in order across and within batches; the latest one is history's", async () => {
  const c = contract("b2");
  const producer = await newBus("producer-b2");
  const consumer = await newBus("consumer-b2");
  const order: number[] = [];
  try {
    // Four entities' events in flight, then a run of one entity's events behind them.
    await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => producer.publish(c, `other${i}`, { n: -1, entity: `other${i}` })),
      ...Array.from({ length: 50 }, (_, i) => producer.publish(c, "one", { n: i, entity: "one" })),
    ]);
    const history = await consumer.lastPerSubject(`${c.prefix}.>`);
    assert.deepEqual(history.find((h) => h.subject === `${c.prefix}.one`)?.data, { n: 49, entity: "one" });
    consumer.consume(c, "consumer-b2", async (d) => {
      if (d.entity !== "one") return;
      // The first event of each batch waits: a later one must not overtake it.
      await new Promise((r) => setTimeout(r, d.n % 7 === 0 ? 20 : 0));
      order.push(d.n);
    });
    await waitFor("all 50 in order", () => order.length === 50 && order);
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => i),
    );
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
  }
});

test("a retryable failure of one batched event redelivers the batch; its neighbours are handled again, idempotently", async () => {
  const c = contract("b3");
  const producer = await newBus("producer-b3");
  const consumer = await newBus("consumer-b3");
  const handled = new Map<number, number>();
  let failed = false;
  try {
    await Promise.all(Array.from({ length: 40 }, (_, i) => producer.publish(c, `e${i}`, { n: i, entity: `e${i}` })));
    assert.ok((await streamSubjects(`${c.prefix}.~batch`))[`${c.prefix}.~batch`], "a batch was stored");
    consumer.consume(c, "consumer-b3", async (d, ctx) => {
      if (d.n === 30 && !failed) {
        failed = true;
        throw new RetryableError("not yet", { delayMs: 50 });
      }
      if (ctx.deliveries > 1 || !handled.has(d.n)) handled.set(d.n, ctx.deliveries);
    });
    await waitFor("all 40 handled", () => handled.size === 40 && handled);
    assert.equal(handled.get(30), 2, "the failed event came back with the batch");
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
  }
});

test("a signed batch: each event is checked alone and dead-lettered alone; a forged batch is refused whole", async () => {
  const c = contract("b4");
  const keys = { scanner: scannerKey.publicKey, other: otherKey.publicKey };
  const verifier = new KeyringVerifier(keys, {
    require: true,
    mayPublish: (id, subject) => id === "scanner" && !subject.endsWith(".forbidden"),
  });
  const consumer = await newBus("consumer-b4", { verifier });
  const watcher = await newBus("watcher-b4", { verifier });
  const nc = await connect({ servers: nats.url });
  const seen: string[] = [];
  const live: string[] = [];
  const dlqFrom = await dlqLastSeq();
  const subject = `${c.prefix}.~batch`;
  const el = (token: string, data: unknown, over: Record<string, unknown> = {}) => ({
    specversion: "1.0",
    id: `id-${token}`,
    source: "scanner",
    type: c.type,
    subject: token,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data,
    ...over,
  });
  const publishBatch = async (id: string, body: unknown[], signer = scannerKey, source = "scanner") => {
    const payload = te.encode(JSON.stringify(body));
    const h: Record<string, string> = {
      [CE.contentType]: "application/cloudevents-batch+json",
      [CE.id]: id,
      [CE.source]: source,
    };
    signHeaders(signer, h, subject, payload);
    const hdrs = headers();
    for (const [k, v] of Object.entries(h)) hdrs.set(k, v);
    await jetstream(nc).publish(subject, payload, { headers: hdrs, msgID: id });
  };
  try {
    const w = watcher.watch(c, (d, ctx) => void live.push(`${ctx.subject}:${d.n}`));
    w.start();
    await raw(watcher).nc.flush();
    consumer.consume(c, "consumer-b4", async (d) => void seen.push(d.entity));
    await publishBatch("good-batch", [
      el("a", { n: 1, entity: "a" }),
      el("bad-schema", { n: "x", entity: "bad-schema" }),
      el("forbidden", { n: 2, entity: "forbidden" }),
      el("spoofed", { n: 3, entity: "spoofed" }, { source: "other" }),
      el("two.tokens", { n: 4, entity: "two.tokens" }),
      el("b", { n: 5, entity: "b" }),
    ]);
    // Signed by another key than its ce-source's: nothing in it is handled.
    await publishBatch("forged-batch", [el("c", { n: 6, entity: "c" })], otherKey, "scanner");
    await waitFor("the good events", () => seen.length === 2 && seen);
    assert.deepEqual(seen.sort(), ["a", "b"]);
    const dead = await waitFor("five dead letters", async () => {
      const d = await deadLetters(dlqFrom);
      return d.length >= 5 && d;
    });
    const by = (s: string) => dead.find((d) => d.subject === s);
    assert.equal(by(`${c.prefix}.bad-schema`)?.reason, "invalid_schema");
    assert.equal(by(`${c.prefix}.forbidden`)?.reason, "signature");
    assert.match(by(`${c.prefix}.forbidden`)?.error ?? "", /may not publish on mirror\.heartbeat\.b4\.forbidden/);
    const envelope = dead.filter((d) => d.reason === "invalid_envelope").map((d) => d.error);
    assert.ok(
      envelope.some((e) => /source "other" is not the batch's/.test(e)),
      envelope.join("; "),
    );
    assert.ok(
      envelope.some((e) => /is not one subject token/.test(e)),
      envelope.join("; "),
    );
    const forged = dead.find((d) => d.reason === "signature" && d.subject === subject);
    assert.match(forged?.error ?? "", /not the key of "scanner"/);
    assert.ok(by(`${c.prefix}.forbidden`)?.headers["mirror-batch"]?.startsWith("good-batch#"));
    await waitFor("the live feed's good events", () => live.length === 2 && live);
    assert.deepEqual(live.sort(), [`${c.prefix}.a:1`, `${c.prefix}.b:5`]);
    assert.equal(seen.length, 2, "nothing else was handled");
    const history = await consumer.lastPerSubject(`${c.prefix}.>`);
    assert.deepEqual(history.map((h) => h.subject).sort(), [
      `${c.prefix}.a`,
      `${c.prefix}.b`,
      `${c.prefix}.bad-schema`,
    ]);
  } finally {
    await Promise.all([consumer.close(), watcher.close(), nc.close()]);
  }
});

test("garbage in a batch's place is dead-lettered whole, with what was wrong", async () => {
  const c = contract("b5");
  const consumer = await newBus("consumer-b5");
  const nc = await connect({ servers: nats.url });
  const dlqFrom = await dlqLastSeq();
  const subject = `${c.prefix}.~batch`;
  const send = async (body: string) => {
    const hdrs = headers();
    hdrs.set(CE.contentType, "application/cloudevents-batch+json");
    await jetstream(nc).publish(subject, te.encode(body), { headers: hdrs });
  };
  try {
    consumer.consume(c, "consumer-b5", async () => undefined);
    await send("{not json");
    await send("[]");
    await send(JSON.stringify({ not: "an array" }));
    await send(`[${"[".repeat(80)}${"]".repeat(80)}]`);
    const dead = await waitFor("four dead letters", async () => {
      const d = await deadLetters(dlqFrom);
      return d.length >= 4 && d;
    });
    assert.deepEqual(dead.map((d) => d.reason).sort(), [
      "invalid_envelope",
      "invalid_envelope",
      "invalid_json",
      "invalid_json",
    ]);
    assert.ok(dead.every((d) => d.subject === subject));
  } finally {
    await Promise.all([consumer.close(), nc.close()]);
  }
});
