// The loop events of one pull share one read of the flush view (the silences), and a read is
// never shared across turns: a silence added before a later event is seen by it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ServerHandle, startRedis } from "@mirror/testkit";
import { Redis } from "ioredis";
import { perTurn } from "../src/per-turn.js";
import { SilenceStore } from "../src/silence-store.js";

let redis: ServerHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.dispose();
});

/** How many HGETALLs the server has run (INFO commandstats). */
async function hgetalls(r: Redis): Promise<number> {
  const m = /cmdstat_hgetall:calls=(\d+)/.exec(await r.info("commandstats"));
  return Number(m?.[1] ?? 0);
}

test("callers in one turn with the same time share one silences read; a later turn reads again", async () => {
  const r = new Redis(redis.url, { keyPrefix: "mirror:notifier-per-turn:", enableAutoPipelining: true });
  try {
    const silences = new SilenceStore(r);
    let made = 0;
    const view = perTurn(async (now) => {
      made++;
      return (await silences.list(now)).map((s) => s.comment);
    });
    const now = Date.parse("2026-03-03T12:00:00.000Z");
    await silences.add({ matchers: ["repo=/a"], for: "1h", comment: "first", by: "test" }, now);
    const before = await hgetalls(r);
    // Sixteen handlers of one pull, as the consumer starts them: in promise callbacks of one turn.
    const seen = await Promise.all(Array.from({ length: 16 }, (_, i) => Promise.resolve(i).then(() => view(now))));
    assert.equal(made, 1, "one flush view for the whole turn");
    assert.equal((await hgetalls(r)) - before, 1, "one HGETALL reached Redis");
    for (const s of seen) assert.deepEqual(s, ["first"]);
    // A silence added after that read is seen by the next turn's events.
    await silences.add({ matchers: ["repo=/b"], for: "1h", comment: "second", by: "test" }, now);
    assert.deepEqual((await view(now)).sort(), ["first", "second"]);
    assert.equal(made, 2);
    // Another time in the same turn is another view (it may end a silence the first one keeps).
    const [a, b] = await Promise.all([view(now + 1), view(now + 2)]);
    assert.equal(made, 4);
    assert.deepEqual(a, b);
  } finally {
    r.disconnect();
  }
});

test("a failed read is not kept for the next turn", async () => {
  let calls = 0;
  const view = perTurn(async () => {
    calls++;
    if (calls === 1) throw new Error("Redis away");
    return "ok";
  });
  await assert.rejects(view(1), /Redis away/);
  await new Promise((r) => setImmediate(r));
  assert.equal(await view(1), "ok");
  assert.equal(calls, 2);
});
