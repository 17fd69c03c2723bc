// The outbox clears published entries in batches, a few milliseconds after they went out; a
// drain in the meantime must not read them again (it would loop on the same batch forever), and
// nothing is published twice. Real NATS (the MIRROR stream) and Redis.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { entityKey, type Loop, loopId } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { Redis } from "ioredis";
import { Outbox } from "../src/outbox.js";
import { LoopStore, type OutboxEntry } from "../src/store.js";
import { Harness, silent } from "./harness.js";

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.stop();
});

function entry(i: number): { key: string; e: OutboxEntry } {
  const entity = { type: "repo" as const, repo: `/src/outbox-${i}` };
  const at = "2026-03-01T12:00:00.000Z";
  const id = loopId("repo.dirty", entityKey(entity));
  const loop: Loop = {
    id,
    kind: "repo.dirty",
    entity,
    severity: "low",
    status: "open",
    summary: "dirty",
    openedAt: at,
    updatedAt: at,
    closedAt: null,
    snoozedUntil: null,
    suppressedBy: [],
    rev: 1,
    evidence: {},
    triage: null,
    history: [],
  } as Loop;
  return {
    key: entityKey(entity),
    e: { id: `${id}:1`, event: "opened", token: id, data: { loop, reason: "test" }, at: Date.now() - 10_000 },
  };
}

test("published entries are cleared together soon after; a drain meanwhile neither spins nor re-reads them", {
  timeout: 60_000,
}, async () => {
  const redis = new Redis(h.redis.url, { keyPrefix: "mirror:outbox-test:" });
  try {
    const store = new LoopStore(redis);
    const outbox = new Outbox(store, h.scanner, silent);
    const all = Array.from({ length: 150 }, (_, i) => entry(i));
    for (const { key, e } of all)
      assert.ok(await store.commit(key, 0, "{}", { loopIds: [e.token], outbox: [e], counts: [], wake: null }));
    assert.equal(await redis.zcard("outbox"), 150);

    // Published one by one as mutations do; their ids wait to be cleared together.
    for (const { e } of all.slice(0, 120)) assert.equal(await outbox.publish([e]), 1);
    // A drain right away (as the tick's): publishes the 30 never published, clears everything,
    // and returns instead of reading the same published entries again and again.
    await outbox.drain(0);
    assert.equal(await redis.zcard("outbox"), 0, "the outbox is empty after the drain");
    assert.equal(await redis.hlen("outbox:data"), 0);
    await waitFor("every event on the bus", () => all.every(({ e }) => h.events.some((x) => x.msgId === e.id)));
    for (const { e } of all) assert.equal(h.events.filter((x) => x.msgId === e.id).length, 1, `${e.id} went out once`);

    // Without a drain, a few published ids are cleared by the timer.
    const more = Array.from({ length: 5 }, (_, i) => entry(1_000 + i));
    for (const { key, e } of more)
      assert.ok(await store.commit(key, 0, "{}", { loopIds: [e.token], outbox: [e], counts: [], wake: null }));
    for (const { e } of more) await outbox.publish([e]);
    await waitFor("the timer clears them", async () => (await redis.zcard("outbox")) === 0, { timeout: 5_000 });
  } finally {
    redis.disconnect();
  }
});

test("a commit writes the triage leases of the loops it opens, and a commit that loses its compare-and-set writes none", async () => {
  const redis = new Redis(h.redis.url, { keyPrefix: "mirror:lease-test:" });
  try {
    const store = new LoopStore(redis);
    const { key, e } = entry(7);
    assert.ok(
      await store.commit(key, 0, "{}", {
        loopIds: [e.token],
        outbox: [e],
        counts: [],
        wake: null,
        leases: [[12_345, e.token]],
      }),
    );
    assert.equal(await redis.zscore("triage", e.token), "12345");
    const other = entry(8);
    assert.equal(
      await store.commit(key, 0, "{}", {
        loopIds: [other.e.token],
        outbox: [other.e],
        counts: [],
        wake: null,
        leases: [[1, other.e.token]],
      }),
      false,
      "version 0 is gone",
    );
    assert.equal(await redis.zscore("triage", other.e.token), null);
  } finally {
    redis.disconnect();
  }
});
