// The sentinel kit itself: master, replica and 3 sentinels; kill -9 of the master promotes the
// replica, and the old master, restarted, comes back as a replica of the new one.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Redis } from "ioredis";
import { startRedisSentinel } from "../src/index.js";
import { waitFor } from "../src/wait.js";

test("startRedisSentinel: kill -9 of the master, the sentinels promote the replica", async (t) => {
  const rs = await startRedisSentinel({ acl: "user default off\nuser app on >secret ~app:* +@all" });
  after(() => rs.dispose());
  assert.equal(rs.sentinelAddrs.length, 3);
  const before = await rs.masterPort();
  assert.equal(before, rs.nodes[0]?.port);
  const app = new Redis({ host: "127.0.0.1", port: before, username: "app", password: "secret", lazyConnect: true });
  await app.connect();
  await app.set("app:k", "v");
  await app.wait(1, 2_000);
  app.disconnect();
  const t0 = Date.now();
  const killed = await rs.killMaster();
  const now = await rs.failedOver(before);
  const ms = Date.now() - t0;
  assert.equal(now, rs.nodes[1]?.port);
  const promoted = new Redis({ host: "127.0.0.1", port: now, username: "app", password: "secret", lazyConnect: true });
  await promoted.connect();
  assert.equal(await promoted.get("app:k"), "v", "the replicated key survived");
  promoted.disconnect();
  await killed.restart();
  await waitFor(
    "the old master is a replica of the new one",
    async () => {
      const r = new Redis({
        host: "127.0.0.1",
        port: killed.port,
        username: rs.admin?.username,
        password: rs.admin?.password,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      r.on("error", () => undefined);
      try {
        await r.connect();
        return /role:slave[\s\S]*master_link_status:up/.test(await r.info("replication"));
      } finally {
        r.disconnect();
      }
    },
    { timeout: 20_000, interval: 200 },
  );
  t.diagnostic(`failover took ${ms} ms`);
});
