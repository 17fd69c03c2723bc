// Heartbeats with unguessable ping keys (Healthchecks.io style): /ping/<key> records with no
// token, /ping/<name> needs the token whatever the method, an unknown key gets a 404 that names
// no check, the key survives a restart, and checks.list shows it to the owner over the bus.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { checksList } from "@mirror/contracts";
import { connectBus, createLogger, parseConfig } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis } from "@mirror/testkit";
import { runTracker } from "./harness.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

const call = (method: string, url: string, token?: string) =>
  fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} }).then(async (r) => ({
    status: r.status,
    text: await r.text(),
  }));

const yaml = `tracker:
  mesh: { enabled: false }
  checks:
    - { name: secret-backup, heartbeat: { every: 1h, grace: 5m } }
    - { name: other-job, heartbeat: { every: 1h, grace: 5m } }
    - { name: web, http: { url: "http://127.0.0.1:1/" }, interval: 1h }`;

test("a ping key records with no token; the name form needs the token; unknown keys list nothing", async () => {
  const run = await runTracker(yaml, { nats: nats.url, redis: redis.url });
  let key: string | undefined;
  try {
    key = run.tracker.pingKeys.keyOf("secret-backup");
    assert.match(key ?? "", /^[A-Za-z0-9_-]{22}$/, "16 random bytes, base64url");
    assert.notEqual(key, run.tracker.pingKeys.keyOf("other-job"), "each check its own key");
    const pings = () => run.statuses.filter((s) => s.name === "secret-backup" && s.heartbeat?.lastPingAt).length;

    for (const method of ["GET", "POST"]) {
      const byName = await call(method, `${run.url}/ping/secret-backup`);
      assert.equal(byName.status, 401, `${method} /ping/<name> without the token`);
      assert.equal((await call(method, `${run.url}/ping/secret-backup/fail`)).status, 401);
      assert.equal((await call(method, `${run.url}/ping/secret-backup`, "wrong-token-value")).status, 401);
    }
    assert.equal(run.tracker.book.get("secret-backup")?.state, "unknown", "nothing recorded by name without the token");
    assert.equal(pings(), 0);

    for (const id of ["nope", "AAAAAAAAAAAAAAAAAAAAAA", `${key}x`, "web"]) {
      const res = await call("GET", `${run.url}/ping/${id}`);
      assert.equal(res.status, 404, id);
      for (const name of ["secret-backup", "other-job", 'web"'])
        assert.ok(!res.text.includes(name), `the 404 for ${id} names ${name}: ${res.text}`);
    }

    const byKey = await call("GET", `${run.url}/ping/${key}`);
    assert.equal(byKey.status, 200, byKey.text);
    assert.equal(JSON.parse(byKey.text).name, "secret-backup");
    await run.waitState("secret-backup", "up");
    assert.equal((await call("POST", `${run.url}/ping/${key}/fail`)).status, 200);
    await run.waitState("secret-backup", "down");
    assert.equal(
      (await call("POST", `${run.url}/ping/other-job`, run.token)).status,
      200,
      "the name form with the token",
    );
    await run.waitState("other-job", "up");

    // The owner sees every check and each heartbeat's key over the bus.
    const config = parseConfig("", { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url });
    const bus = await connectBus("operator", {
      config,
      env: {},
      log: createLogger("t", { write: () => true } as never, "silent"),
    });
    try {
      const { checks } = await bus.request(checksList, {}, { timeout: 5_000 });
      assert.deepEqual(
        checks.map((c) => [c.name, c.kind, c.state, c.pingKey]),
        [
          ["other-job", "heartbeat", "up", run.tracker.pingKeys.keyOf("other-job")],
          ["secret-backup", "heartbeat", "down", key],
          ["web", "http", checks.find((c) => c.name === "web")?.state, undefined],
        ],
      );
    } finally {
      await bus.close(1_000);
    }
  } finally {
    await run.stop();
  }
  const again = await runTracker(yaml, { nats: nats.url, redis: redis.url });
  try {
    assert.equal(again.tracker.pingKeys.keyOf("secret-backup"), key, "the key survives a restart");
    assert.equal((await call("GET", `${again.url}/ping/${key}`)).status, 200);
  } finally {
    await again.stop();
  }
});
