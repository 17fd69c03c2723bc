import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus, endpoint, KeyringVerifier, nkeySigner, signHeaders } from "@mirror/bus";
import { CE, DeadLetter, defineEndpoint, heartbeat, toCeHeaders } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { type ServerHandle, startNats, waitFor } from "@mirror/testkit";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, nkeys } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import { z } from "zod";

const silent = createLogger("test", { write: () => true } as never, "silent");
const te = new TextEncoder();
const pair = () => nkeySigner(nkeys.createUser().getSeed());
const scanner = pair();
const other = pair();
const keys = { scanner: scanner.publicKey, other: other.publicKey };

function event(signer: ReturnType<typeof pair> | undefined, subject: string, payload: string, source = "scanner") {
  const h: Record<string, string> = toCeHeaders({ id: "e-1", source, type: "t", time: new Date().toISOString() });
  if (signer) signHeaders(signer, h, subject, te.encode(payload));
  return (over: Partial<{ subject: string; payload: string }> = {}) => ({
    subject: over.subject ?? subject,
    header: (n: string) => h[n],
    payload: te.encode(over.payload ?? payload),
  });
}

test("a signature covers the id, the subject and the payload, by the key of ce-source", () => {
  const v = new KeyringVerifier(keys, { require: true });
  const signed = event(scanner, "mirror.repo.snapshot.a", '{"x":1}');
  assert.deepEqual(v.verify(signed()), { ok: true, signer: "scanner" });
  assert.equal(v.verify(signed({ payload: '{"x":2}' })).ok, false, "payload changed");
  assert.equal(v.verify(signed({ subject: "mirror.repo.snapshot.b" })).ok, false, "replayed onto another subject");
  const byOther = v.verify(event(other, "mirror.repo.snapshot.a", "{}")());
  assert.match(byOther.ok ? "" : byOther.reason, /not the key of "scanner"/);
  const unknown = v.verify(event(other, "s", "{}", "stranger")());
  assert.match(unknown.ok ? "" : unknown.reason, /not a known identity/);
});

test("unsigned events: refused when required, unless the consumer allows them; a bad signature never passes", () => {
  const unsigned = event(undefined, "mirror.heartbeat.job", "{}")();
  assert.equal(new KeyringVerifier(keys, { require: true }).verify(unsigned).ok, false);
  assert.equal(new KeyringVerifier(keys, { require: true }).verify(unsigned, { allowUnsigned: true }).ok, true);
  assert.equal(new KeyringVerifier(keys, { require: false }).verify(unsigned).ok, true);
  const forged = event(scanner, "mirror.heartbeat.job", "{}")({ payload: "{ }" });
  assert.equal(new KeyringVerifier(keys, { require: false }).verify(forged, { allowUnsigned: true }).ok, false);
});

test("a valid signature on a subject the table does not give its source is refused", () => {
  const v = new KeyringVerifier(keys, {
    require: true,
    mayPublish: (id, subject) => id === "scanner" && subject.startsWith("mirror.repo."),
  });
  assert.equal(v.verify(event(scanner, "mirror.repo.snapshot.a", "{}")()).ok, true);
  const r = v.verify(event(scanner, "mirror.loop.opened.a", "{}")());
  assert.match(r.ok ? "" : r.reason, /may not publish on mirror\.loop\.opened\.a/);
});

let nats: ServerHandle;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats.dispose();
});

test("a consumer with a verifier dead-letters unsigned events (reason signature) and handles signed ones", async () => {
  const verifier = new KeyringVerifier(keys, { require: true });
  const producer = await Bus.connect({
    name: "scanner",
    url: nats.url,
    log: silent,
    registry: new Registry(),
    signer: scanner,
  });
  const consumer = await Bus.connect({
    name: "sig-consumer",
    url: nats.url,
    log: silent,
    registry: new Registry(),
    verifier,
  });
  const raw = await connect({ servers: nats.url });
  const seen: string[] = [];
  try {
    consumer.consume(heartbeat, "sig-consumer", async (d) => void seen.push(d.name), {
      filter: "mirror.heartbeat.sig.>",
    });
    await producer.publish(heartbeat, "sig.good", { name: "good", kind: "success", at: new Date().toISOString() });
    const h = headers();
    for (const [k, v] of Object.entries(
      toCeHeaders({ id: "unsigned-1", source: "scanner", type: heartbeat.type, time: new Date().toISOString() }),
    ))
      h.set(k, v);
    await jetstream(raw).publish(
      "mirror.heartbeat.sig.bad",
      JSON.stringify({ name: "bad", kind: "success", at: new Date().toISOString() }),
      { headers: h },
    );
    await waitFor("the signed event", () => seen.includes("good"));
    const jsm = await jetstreamManager(raw);
    const dl = await waitFor("a dead letter", async () => {
      const info = await jsm.streams.info("MIRROR_DLQ").catch(() => undefined);
      const m = info?.state.messages
        ? await jsm.streams.getMessage("MIRROR_DLQ", { seq: info.state.last_seq })
        : undefined;
      return m ? DeadLetter.parse(m.json()) : undefined;
    });
    assert.equal(dl.reason, "signature");
    assert.equal(dl.headers[CE.id], "unsigned-1");
    assert.deepEqual(seen, ["good"]);
    const stored = await jsm.streams.getMessage("MIRROR", { last_by_subj: "mirror.heartbeat.sig.good" });
    assert.equal(stored?.header.get("mirror-key"), scanner.publicKey);
    assert.ok(stored?.header.get("mirror-sig"));
  } finally {
    await Promise.all([producer.close(), consumer.close(), raw.close()]);
  }
});

test("a service never replies onto a subject that is not an inbox", async () => {
  const echo = defineEndpoint({
    name: "echo",
    subject: "mirror.test.echo",
    request: z.object({ n: z.number() }),
    reply: z.object({ n: z.number() }),
  });
  const bus = await Bus.connect({ name: "guarded", url: nats.url, log: silent, registry: new Registry() });
  const raw = await connect({ servers: nats.url });
  try {
    await bus.service({ version: "1.0.0", endpoints: [endpoint(echo, async (r) => ({ n: r.n }))] });
    const landed: string[] = [];
    raw.subscribe("mirror.heartbeat.hijack", { callback: (_e, m) => void landed.push(m.string()) });
    raw.publish(echo.subject, JSON.stringify({ n: 1 }), { reply: "mirror.heartbeat.hijack" });
    raw.publish("$SRV.PING", undefined, { reply: "mirror.heartbeat.hijack" });
    const reply = await raw.request(echo.subject, JSON.stringify({ n: 2 }), { timeout: 5_000 });
    assert.deepEqual(reply.json(), { n: 2 });
    await raw.request("$SRV.PING.guarded", undefined, { timeout: 5_000 });
    await raw.flush();
    assert.deepEqual(landed, []);
    const refused = await (
      bus.metrics.messages as unknown as {
        get(): Promise<{ values: { labels: { outcome?: string }; value: number }[] }>;
      }
    ).get();
    assert.equal(
      refused.values.filter((v) => v.labels.outcome === "refused_reply_subject").reduce((a, v) => a + v.value, 0),
      2,
    );
  } finally {
    await Promise.all([bus.close(), raw.close()]);
  }
});
