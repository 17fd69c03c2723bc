import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { runTracker, startHttp } from "./harness.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

test("an HTTP check publishes up, degraded on a failed condition, down when the server goes away, and up again", async () => {
  const web = await startHttp();
  const run = await runTracker(
    `tracker:
  checks:
    - { name: web, interval: 100ms, http: { url: "${web.url}/health", timeout: 1s }, conditions: ["status == 200", "body.status == ok"] }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const up = await run.waitState("web", "up");
    assert.equal(up.kind, "http");
    assert.equal(up.reason, null);
    assert.ok(up.latencyMs !== null && up.latencyMs >= 0);

    web.handle = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "broken" }));
    };
    const degraded = await run.waitState("web", "degraded");
    assert.deepEqual(degraded.failedConditions, [{ condition: "body.status == ok", actual: "broken" }]);
    assert.match(degraded.reason ?? "", /body.status == ok \(got broken\)/);

    const port = web.port;
    await web.close();
    const down = await run.waitState("web", "down");
    assert.match(down.reason ?? "", /connection refused/);

    const back = await startHttp(port);
    const again = await run.waitState("web", "up");
    assert.ok(Date.parse(again.since) >= Date.parse(down.since));
    await back.close();

    // Every status carries a fresh, increasing seq (the id the bus de-duplicates on).
    const seqs = run.statuses.filter((s) => s.name === "web").map((s) => s.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(new Set(seqs).size, seqs.length);
  } finally {
    await run.stop();
    await web.close().catch(() => undefined);
  }
});

test("a restart keeps `since` of a state that still holds", async () => {
  const web = await startHttp();
  const yaml = `tracker:
  mesh: { enabled: false }
  checks:
    - { name: steady, interval: 100ms, http: { url: "${web.url}/" } }`;
  try {
    const first = await runTracker(yaml, { nats: nats.url, redis: redis.url });
    const up = await first.waitState("steady", "up");
    await first.stop();
    const second = await runTracker(yaml, { nats: nats.url, redis: redis.url });
    try {
      const again = await second.waitState("steady", "up");
      assert.equal(again.since, up.since);
      assert.ok(again.seq > up.seq, "seq keeps growing across restarts");
    } finally {
      await second.stop();
    }
  } finally {
    await web.close();
  }
});

test("a change seen while NATS is down is published once NATS is back", async () => {
  const web = await startHttp();
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: outage, interval: 100ms, failureThreshold: 1, http: { url: "${web.url}/" } }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    await run.waitState("outage", "up");
    await nats.stop();
    web.handle = (_req, res) => {
      res.writeHead(500);
      res.end();
    };
    await waitFor("degraded seen by the tracker", () => run.tracker.book.get("outage")?.state === "degraded");
    await nats.restart();
    const degraded = await run.waitState("outage", "degraded", 30_000);
    assert.deepEqual(degraded.failedConditions, [{ condition: "status < 400", actual: "500" }]);
  } finally {
    await run.stop();
    await web.close();
  }
});
