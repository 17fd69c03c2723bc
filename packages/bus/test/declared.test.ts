// The manifest at run time: with a manifest, the bus refuses every publish, consume, request,
// endpoint and history read the manifest does not declare, naming the service, the subject and
// the manifest file; with identity off (anonymous, no permissions on the server) as much as on.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus, endpoint, UndeclaredError } from "@mirror/bus";
import { defineEndpoint, defineManifest, HistoryConfig, heartbeat, repoGone } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { type ServerHandle, startNats } from "@mirror/testkit";
import { Registry } from "prom-client";
import { z } from "zod";

let nats: ServerHandle;
const silent = createLogger("test", { write: () => true } as never, "silent");
const echo = defineEndpoint({
  name: "decl-echo",
  subject: "mirror.decltest.echo",
  request: z.object({ n: z.number() }),
  reply: z.object({ n: z.number() }),
});
const other = defineEndpoint({
  name: "decl-other",
  subject: "mirror.declother.x",
  request: z.object({}),
  reply: z.object({}),
});

const manifest = defineManifest({
  name: "decl-svc",
  port: 9199,
  config: { section: "history", schema: HistoryConfig },
  publishes: ["mirror.heartbeat.>"],
  consumes: [{ durable: "decl-svc-hb", filter: "mirror.heartbeat.>" }],
  requests: ["mirror.decltest.echo"],
  serves: ["mirror.decltest.>"],
  redisPrefix: "mirror:decl-svc:",
});

before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats.dispose();
});

const connect = (name: string, m = manifest) =>
  Bus.connect({ name, url: nats.url, log: silent, registry: new Registry(), publishDeadlineMs: 5_000, manifest: m });

function undeclared(subject: string, field: string) {
  return (err: unknown) => {
    assert.ok(err instanceof UndeclaredError, `not an UndeclaredError: ${err}`);
    assert.equal(err.code, "MIRROR_ERR_UNDECLARED");
    assert.equal(err.service, "decl-svc");
    assert.equal(err.file, "services/decl-svc/src/manifest.ts");
    assert.ok(err.subject.includes(subject), `${err.subject} names ${subject}`);
    assert.match(
      err.message,
      new RegExp(`"decl-svc" .*${subject.replace(/[.*>$]/g, "\\$&")}.*\`${field}.*services/decl-svc/src/manifest\\.ts`),
    );
    return true;
  };
}

test("what the manifest declares works; anything else is refused, naming service, subject and manifest file", async () => {
  const bus = await connect("decl-svc");
  try {
    const at = new Date().toISOString();
    const ok = await bus.publish(heartbeat, "job", { name: "job", kind: "success", at });
    assert.ok(ok.seq > 0, "a declared publish reaches the stream");
    await assert.rejects(
      bus.publish(repoGone, "r1", { path: "/x", at }),
      undeclared("mirror.repo.gone.r1", "publishes"),
    );
    await assert.rejects(
      bus.publishRaw("mirror.loop.opened.x", new Uint8Array(), {}, "raw-1"),
      undeclared("mirror.loop.opened.x", "publishes"),
    );

    assert.throws(
      () => bus.consume(heartbeat, "some-other-durable", async () => {}),
      undeclared("some-other-durable", "consumes"),
    );
    assert.throws(
      () => bus.consume(heartbeat, "decl-svc-hb", async () => {}, { filter: "mirror.heartbeat.one" }),
      undeclared("mirror.heartbeat.one", "consumes"),
    );

    await assert.rejects(
      bus.service({ version: "1.0.0", endpoints: [endpoint(other, async () => ({}))] }),
      undeclared("mirror.declother.x", "serves"),
    );
    await bus.service({ version: "1.0.0", endpoints: [endpoint(echo, async (req) => ({ n: req.n + 1 }))] });
    assert.deepEqual(
      await bus.request(echo, { n: 1 }),
      { n: 2 },
      "a declared request to a declared endpoint is answered",
    );
    await assert.rejects(bus.request(other, {}), undeclared("mirror.declother.x", "requests"));
    await assert.rejects(
      bus.gather(["$SRV.PING"], 10, () => {}),
      undeclared("$SRV.PING", "requests"),
    );
    await assert.rejects(bus.lastPerSubject("mirror.heartbeat.>"), undeclared("mirror.heartbeat.>", "readsHistory"));
    await assert.rejects(bus.reportStreams(), undeclared("MIRROR", "readsHistory"));
  } finally {
    await bus.close();
  }
});

test("a declared consumer runs, and a consumer's dead letters are implied by consuming", async () => {
  const bus = await connect("decl-svc");
  try {
    const seen: string[] = [];
    bus.consume(heartbeat, "decl-svc-hb", async (d) => void seen.push(d.name));
    await bus.publish(heartbeat, "later", { name: "later", kind: "success", at: new Date().toISOString() });
    const deadline = Date.now() + 10_000;
    while (!seen.includes("later") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(seen.includes("later"));
  } finally {
    await bus.close();
  }
});

test("a bus given another service's manifest does not connect", async () => {
  await assert.rejects(
    connect("someone-else"),
    /the bus of "someone-else" was given the manifest of "decl-svc" \(services\/decl-svc\/src\/manifest\.ts\)/,
  );
});
