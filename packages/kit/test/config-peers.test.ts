import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import {
  ConfigPeers,
  configDigest,
  configSectionOf,
  createLogger,
  createStore,
  differingKeys,
  parseConfig,
  sectionAt,
  withRunningPaths,
} from "@mirror/kit";
import { type ServerHandle, startRedis, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";

// Issue 24, bad input: two replicas of one service configured with different config files.

test("digest: key order and port do not count, a changed key is named, a secret's value never appears", () => {
  const a = configDigest({ port: 1, interval: 60_000, roots: ["/a"], token: "s3cret-value-xyz" });
  const b = configDigest({ roots: ["/a"], token: "s3cret-value-xyz", interval: 60_000, port: 2 });
  assert.equal(a.hash, b.hash);
  assert.deepEqual(Object.keys(a.keys), ["interval", "roots", "token"]);
  const c = configDigest({ port: 1, interval: 30_000, roots: ["/a"], token: "other" });
  assert.notEqual(c.hash, a.hash);
  assert.deepEqual(differingKeys(a, c), ["interval", "token"]);
  assert.deepEqual(differingKeys(a, configDigest({ interval: 60_000, roots: ["/a"] })), ["token"]);
  assert.ok(!JSON.stringify(a).includes("s3cret"));
});

test("section: the manifest's, else the one the port is read from; a dotted path reads nested sections", () => {
  assert.equal(configSectionOf({ port: (c) => c.tracker.port }), "tracker");
  assert.equal(
    configSectionOf({ manifest: { config: { section: "model.openai" } }, port: () => 9106 }),
    "model.openai",
  );
  assert.equal(configSectionOf({ port: () => 1 }), undefined);
  const config = parseConfig("model: { openai: { model: gpt-x } }\n", {});
  assert.equal((sectionAt(config, "model.openai") as { model: string }).model, "gpt-x");
  assert.equal(sectionAt(config, "model.nothing.here"), undefined);
});

test("after a reload, settings read only at start keep the running value", () => {
  const start = parseConfig("notifier: { maxAttempts: 3, backoff: 1s }\n", {});
  const next = parseConfig("notifier: { maxAttempts: 9, backoff: 2s }\n", {});
  const running = withRunningPaths(next, start, ["notifier.maxAttempts"]);
  assert.equal(running.notifier.maxAttempts, 3);
  assert.equal(running.notifier.backoff, 2_000);
  assert.equal(next.notifier.maxAttempts, 9, "the new config itself is not changed");
});

let redis: ServerHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.dispose();
});

test("two replicas on one Redis: a mismatch is warned on both sides naming both and the keys, the gauge is 1, and 0 once a reload agrees", async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk, _enc, cb) => {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger("scanner", sink as never, "info");
  const stores = [createStore(redis.url, "scanner", log), createStore(redis.url, "scanner", log)];
  const registries = [new Registry(), new Registry()];
  const gauge = async (i: number) =>
    (await registries[i]?.getSingleMetric("mirror_config_mismatch")?.get())?.values[0]?.value;
  const cfgA = { port: 1, interval: 60_000, roots: ["/srv/a"] };
  const cfgB = { port: 2, interval: 30_000, roots: ["/srv/a"] };
  const peers = [
    new ConfigPeers(
      {
        store: stores[0] as never,
        log,
        registry: registries[0] as Registry,
        service: "scanner",
        section: "scanner",
        self: "host:1:9101",
        everyMs: 100,
      },
      configDigest(cfgA),
    ),
    new ConfigPeers(
      {
        store: stores[1] as never,
        log,
        registry: registries[1] as Registry,
        service: "scanner",
        section: "scanner",
        self: "host:2:9121",
        everyMs: 100,
      },
      configDigest(cfgB),
    ),
  ];
  try {
    await Promise.all(peers.map((p) => p.start()));
    await waitFor("both replicas see the mismatch", () => peers.every((p) => p.mismatches.length === 1), {
      timeout: 5_000,
    });
    assert.deepEqual(peers[0]?.mismatches[0]?.differs, ["interval"]);
    assert.equal(peers[0]?.mismatches[0]?.peer, "host:2:9121");
    assert.equal(peers[1]?.mismatches[0]?.peer, "host:1:9101");
    assert.equal(await gauge(0), 1);
    assert.equal(await gauge(1), 1);
    const warned = lines.filter((l) => l.includes("CONFIG MISMATCH"));
    assert.ok(
      warned.some((l) => l.includes("host:1:9101 and host:2:9121") && l.includes("scanner.interval differ")),
      warned.join("\n"),
    );
    assert.ok(
      warned.some((l) => l.includes("host:2:9121 and host:1:9101")),
      "the other replica warns too",
    );
    // The warning is not repeated every round while nothing changes.
    const before = lines.filter((l) => l.includes("CONFIG MISMATCH")).length;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(lines.filter((l) => l.includes("CONFIG MISMATCH")).length, before);
    // B reloads the same config as A (its port still differs: that is allowed).
    await peers[1]?.update(configDigest({ ...cfgA, port: 2 }));
    await waitFor("both agree", () => peers.every((p) => p.mismatches.length === 0), { timeout: 5_000 });
    assert.equal(await gauge(0), 0);
    assert.equal(await gauge(1), 0);
    assert.ok(lines.some((l) => l.includes("run with the same config again")));
    // A replica that stops leaves at once: nobody compares with it any more.
    await peers[1]?.update(configDigest(cfgB));
    await waitFor("mismatch again", () => (peers[0]?.mismatches.length ?? 0) === 1, { timeout: 5_000 });
    await peers[1]?.stop();
    await waitFor("gone with the replica", () => peers[0]?.mismatches.length === 0, { timeout: 5_000 });
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    for (const s of stores) s.disconnect();
  }
});

test("rounds: every everyMs while the replicas agree (one Redis call each), every mismatchEveryMs while they differ", async () => {
  const log = createLogger("scanner", new Writable({ write: (_c, _e, cb) => cb() }) as never, "info");
  const stores = [createStore(redis.url, "rounds", log), createStore(redis.url, "rounds", log)];
  // Counts the Redis calls replica A makes (ConfigPeers reaches Redis only through its store).
  const calls: string[] = [];
  const counted = new Proxy(stores[0] as object, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return v.apply(target, args);
      };
    },
  });
  const cfg = { port: 1, interval: 60_000 };
  const peer = (store: unknown, self: string, digest: ReturnType<typeof configDigest>) =>
    new ConfigPeers(
      {
        store: store as never,
        log,
        registry: new Registry(),
        service: "rounds",
        self,
        everyMs: 1_000,
        mismatchEveryMs: 50,
      },
      digest,
    );
  const a = peer(counted, "host:1", configDigest(cfg));
  const b = peer(stores[1], "host:2", configDigest(cfg));
  try {
    await a.start();
    await b.start();
    calls.length = 0;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1_500));
    const agreeing = calls.length;
    const elapsed = performance.now() - t0;
    assert.ok(
      agreeing <= Math.ceil(elapsed / 1_000) + 1,
      `${agreeing} calls in ${elapsed.toFixed(0)} ms while agreeing`,
    );
    // B reloads a different config: A compares every 50 ms from its next round on, until they agree.
    await b.update(configDigest({ ...cfg, interval: 30_000 }));
    await waitFor("A sees the mismatch", () => a.mismatches.length === 1, { timeout: 5_000 });
    calls.length = 0;
    await waitFor("A compares often while they differ", () => calls.length >= 5, { timeout: 2_000 });
    await b.update(configDigest(cfg));
    await waitFor("A agrees again", () => a.mismatches.length === 0, { timeout: 5_000 });
  } finally {
    await a.stop();
    await b.stop();
    for (const s of stores) s.disconnect();
  }
});
