import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { createLogger, createStore, serverClock } from "@mirror/kit";
import { type ServerHandle, startRedis } from "@mirror/testkit";
import { Registry } from "prom-client";

let redis: ServerHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.dispose();
});

test("serverClock: a local clock 5 minutes ahead or behind reads the Redis server's time, warns once, and exports the offset", async () => {
  const lines: string[] = [];
  const log = createLogger(
    "test",
    new Writable({
      write: (c, _e, cb) => {
        lines.push(String(c));
        cb();
      },
    }) as never,
    "info",
  );
  const store = createStore(redis.url, "clock", log);
  try {
    for (const skew of [300_000, -300_000]) {
      const registry = new Registry();
      const clock = await serverClock(store, { log, registry, local: () => Date.now() + skew });
      try {
        // redis-server runs on this host, so its time is Date.now().
        assert.ok(Math.abs(clock.now() - Date.now()) < 200, `off by ${clock.now() - Date.now()} ms`);
        assert.ok(Math.abs(clock.offset + skew) < 200);
        const gauge = (await registry.getSingleMetric("mirror_clock_offset_seconds")?.get())?.values[0]?.value ?? 0;
        assert.ok(Math.abs(gauge + skew / 1_000) < 0.2, `gauge ${gauge}`);
        await clock.measure();
      } finally {
        clock.stop();
      }
    }
    assert.equal(lines.filter((l) => l.includes("differs from the Redis server's")).length, 2, "once per clock");
    const plain = await serverClock(store, { log });
    assert.ok(Math.abs(plain.offset) < 200);
    plain.stop();
  } finally {
    store.disconnect();
  }
});
