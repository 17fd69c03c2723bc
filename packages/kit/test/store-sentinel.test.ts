// The kit store through Redis Sentinel (issue 24): `store.sentinels` and `store.name` from the
// config, the service's own ACL login on the master (the sentinels take none), and after kill -9
// of the master the sentinels promote the replica and the store's writes succeed again within a deadline.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createUserKey } from "@mirror/bus";
import { aclUserLine, createLogger, createStore, parseConfig, sentinelTargetOf, storePassword } from "@mirror/kit";
import { startRedisSentinel, waitFor } from "@mirror/testkit";
import { Redis } from "ioredis";

const silent = createLogger("test", { write: () => true } as never, "silent");

test("store.sentinels: the store follows a failover after kill -9 of the master, with the service's ACL login", {
  timeout: 120_000,
}, async (t) => {
  const { seed } = createUserKey();
  const rs = await startRedisSentinel({ acl: `user default off\n${aclUserLine("scanner", seed)}` });
  after(() => rs.dispose());
  const config = parseConfig(
    `store: { sentinels: [${rs.sentinelAddrs.map((a) => JSON.stringify(a)).join(", ")}], name: ${rs.name} }`,
    {},
  );
  const target = sentinelTargetOf(config.store);
  assert.deepEqual(target, { sentinels: rs.sentinelAddrs, name: "mirror" });
  // The URL's host is not used with sentinels: the master comes from them.
  const store = createStore("redis://127.0.0.1:1", "scanner", silent, {
    login: { username: "scanner", password: storePassword(seed) },
    sentinel: target,
  });
  after(() => store.disconnect());
  await store.set("before", "1");
  assert.equal(await store.get("before"), "1");

  // One write every 50 ms through the failover; each records when it was acknowledged.
  const acked: { i: number; at: number }[] = [];
  let stop = false;
  const writing = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        await store.set(`w${i}`, String(i));
        acked.push({ i, at: Date.now() });
      } catch {
        // a write that failed while no master answered; the next one tries again
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await waitFor("writes flowing", () => acked.length >= 5);
  const old = await rs.masterPort();
  const t0 = Date.now();
  await rs.killMaster();
  const promoted = await rs.failedOver(old);
  const failedOver = Date.now() - t0;
  const first = await waitFor(
    "a write acknowledged after the failover",
    () => acked.find((a) => a.at > t0 + failedOver),
    { timeout: 15_000, interval: 20 },
  ).catch((err) => {
    throw new Error(
      `${err.message}; store ${store.status}, ${acked.length} acked, last at +${(acked.at(-1)?.at ?? 0) - t0} ms`,
    );
  });
  stop = true;
  await writing;
  const ms = first.at - t0;
  t.diagnostic(
    `master killed: sentinels promoted port ${promoted} after ${failedOver} ms; the store's writes succeed again after ${ms} ms`,
  );
  assert.ok(ms < 10_000, `writes succeed within 10 s of the kill (${ms} ms)`);
  // The write went to the promoted master, under the service's prefix, with its login.
  const admin = new Redis({
    host: "127.0.0.1",
    port: promoted,
    username: rs.admin?.username,
    password: rs.admin?.password,
    lazyConnect: true,
  });
  await admin.connect();
  after(() => admin.disconnect());
  assert.equal(await admin.get(`mirror:scanner:w${first.i}`), String(first.i));
  assert.equal(await admin.get("mirror:scanner:before"), "1", "the key written before the kill was replicated");
  assert.equal(store.status, "ready");
});

test("store.sentinels: each entry must be host:port", () => {
  assert.throws(() => parseConfig("store: { sentinels: [127.0.0.1] }", {}), /store\.sentinels\.0: .*host:port/);
  assert.throws(() => parseConfig("store: { sentinels: [] }", {}), /store\.sentinels/);
  assert.equal(parseConfig("store: { sentinels: ['[::1]:26379', 'redis-sentinel-1:26379'] }", {}).store.name, "mirror");
});

test("MIRROR_BUS_REPLICAS, MIRROR_REDIS_SENTINELS and MIRROR_REDIS_SENTINEL_NAME override the config (the cluster compose file sets them)", () => {
  const c = parseConfig("bus: { replicas: 1 }", {
    MIRROR_BUS_REPLICAS: "3",
    MIRROR_REDIS_SENTINELS: "sentinel-1:26379, sentinel-2:26379",
    MIRROR_REDIS_SENTINEL_NAME: "home",
  });
  assert.equal(c.bus.replicas, 3);
  assert.deepEqual(c.store.sentinels, ["sentinel-1:26379", "sentinel-2:26379"]);
  assert.equal(c.store.name, "home");
  assert.throws(() => parseConfig("", { MIRROR_BUS_REPLICAS: "three" }), /bus\.replicas/);
});
