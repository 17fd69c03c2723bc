import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createLogger, parseConfig } from "@mirror/kit";
import { type ServerHandle, startRedis, waitFor } from "@mirror/testkit";
import { Redis } from "ioredis";
import { flushDue } from "../src/flusher.js";
import { onLoopEvent } from "../src/handlers/on-loop-event.js";
import { Router } from "../src/routing.js";
import type { Delivery } from "../src/store.js";
import { NotifierStore } from "../src/store.js";
import { makeLoop } from "./harness.js";

const silent = createLogger("test", { write: () => true } as never, "silent");

let redis: ServerHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.dispose();
});

function delivery(id: string): Delivery {
  return {
    id,
    channel: "hook",
    groupId: `g-${id}`,
    message: { groupKey: "{}", status: "firing", alerts: [] } as never,
    createdAt: 0,
    attempt: 0,
    state: "pending",
    lastError: null,
  };
}

test("claims are fenced in the server's time: a skewed replica cannot take a held delivery, and the original that lost its claim can neither send nor save", async () => {
  const [ra, rb] = [
    new Redis(redis.url, { keyPrefix: "mirror:notifier-fence:" }),
    new Redis(redis.url, { keyPrefix: "mirror:notifier-fence:" }),
  ];
  try {
    const a = new NotifierStore(ra);
    const b = new NotifierStore(rb);
    const now = Date.parse("2026-03-02T12:00:00.000Z");
    assert.ok(await a.addDelivery(delivery("d1"), now));
    const [claimA] = await a.claimDeliveries(now, 400, 10, "token-a");
    assert.equal(claimA?.id, "d1");
    // b's clock runs five minutes ahead: by its clock a's claim is long over, by the server's it holds.
    assert.deepEqual(await b.claimDeliveries(now + 300_000, 400, 10, "token-b"), []);
    assert.equal(await a.holdClaim("d1", "token-a", 400), true, "the holder may send");
    assert.equal(await b.holdClaim("d1", "token-b", 400), false, "a replica without the claim may not");
    // a stalls past its lease; b takes the delivery over.
    const claimB = await waitFor(
      "a's claim lapsed on the server",
      async () => (await b.claimDeliveries(now + 300_000, 10_000, 10, "token-b"))[0],
      { interval: 50 },
    );
    assert.equal(claimB.id, "d1");
    assert.equal(claimB.token, "token-b");
    assert.equal(await a.holdClaim("d1", "token-a", 10_000), false, "the late original is fenced off before its send");
    const failedByA = { ...delivery("d1"), attempt: 1, lastError: "late" };
    assert.equal(await a.saveClaimed(failedByA, now + 60_000, "token-a"), false, "and cannot overwrite the delivery");
    assert.equal(await b.holdClaim("d1", "token-b", 10_000), true);
    assert.equal(
      await b.saveClaimed({ ...delivery("d1"), attempt: 1, lastError: "retry" }, now, "token-b"),
      true,
      "the holder saves and gives the claim back",
    );
    const [again] = await a.claimDeliveries(now, 400, 10, "token-a2");
    assert.equal(again?.delivery?.lastError, "retry", "b's state, not a's");
  } finally {
    ra.disconnect();
    rb.disconnect();
  }
});

test("two replicas handling revisions of one loop out of order: an older revision never writes over a newer one's outcome", async () => {
  const redis2 = new Redis(redis.url, { keyPrefix: "mirror:notifier-order:" });
  try {
    const store = new NotifierStore(redis2);
    const cfg = parseConfig(
      `notifier: { groupWait: 0s, groupBy: [alertname, repo], channels: [ { name: hook, type: webhook, url: "http://127.0.0.1:9/x" } ] }\n`,
      {},
    ).notifier;
    const deps = {
      store,
      router: new Router(cfg),
      clock: { now: () => Date.parse("2026-03-02T12:00:00.000Z") },
      log: silent,
    };
    const env = () => ({ silenced: () => false, inhibited: () => false, quiet: null });
    const flush = () => flushDue(deps.clock.now(), { store, router: deps.router, externalURL: cfg.externalURL, env });
    // Opened and closed before the notifier saw it, taken by two replicas: "closed" first.
    const quick = makeLoop({ repo: "/src/quick" });
    await onLoopEvent({ loop: { ...quick, status: "closed", rev: 2 }, reason: "clean" }, deps);
    await onLoopEvent({ loop: quick, reason: "dirty" }, deps);
    assert.deepEqual(await flush(), [], "the late opened revision sends no firing that nobody would resolve");
    // Firing sent and resolved sent, then a replica that was slow with revision 2 writes it.
    const slow = makeLoop({ repo: "/src/slow" });
    await onLoopEvent({ loop: slow, reason: "dirty" }, deps);
    assert.equal((await flush()).map((d) => d.message.status).join(), "firing");
    await onLoopEvent({ loop: { ...slow, status: "closed", rev: 3 }, reason: "clean" }, deps);
    assert.equal((await flush()).map((d) => d.message.status).join(), "resolved");
    await onLoopEvent({ loop: { ...slow, rev: 2, summary: "changed" }, reason: "still dirty" }, deps);
    assert.deepEqual(await flush(), [], "no second firing from the stale revision");
    // The same closed event taken again by the other replica (redelivered while the first was
    // slow), which read the loop's record before the first one saved it: the group already went
    // out resolved and ended; nothing is sent again.
    const twice = makeLoop({ repo: "/src/twice" });
    await onLoopEvent({ loop: twice, reason: "dirty" }, deps);
    assert.equal((await flush()).length, 1);
    const closed = { loop: { ...twice, status: "closed" as const, rev: 2 }, reason: "clean" };
    const recordBefore = await redis2.get(`loop:${twice.id}`);
    await onLoopEvent(closed, deps);
    assert.equal((await flush()).map((d) => d.message.status).join(), "resolved");
    await redis2.set(`loop:${twice.id}`, recordBefore as string);
    await onLoopEvent(closed, deps);
    assert.deepEqual(await flush(), [], "no second resolved");
    // The same when revision 2 had read the loop's record before revision 3 was recorded: its
    // group write is refused in the same script that compares the group.
    const id = "some-group";
    assert.equal(
      await store.commitGroup(id, "", { id } as never, null, deps.clock.now(), { id: slow.id, rev: 2 }),
      "stale",
    );
    assert.equal(
      await store.commitGroup(id, "", { id, nextFlushAt: 0 } as never, null, deps.clock.now(), { id: slow.id, rev: 3 }),
      "ok",
    );
  } finally {
    redis2.disconnect();
  }
});

test("a group's compare-and-set: a commit made from an older read of the group is refused and writes nothing", async () => {
  const r = new Redis(redis.url, { keyPrefix: "mirror:notifier-cas:" });
  try {
    const store = new NotifierStore(r);
    const now = Date.parse("2026-03-02T12:00:00.000Z");
    const first = { id: "g", nextFlushAt: now, alerts: {}, note: "ünïcödé ✓" } as never;
    assert.equal(await store.commitGroup("g", "", first, null, now), "ok", "a new group");
    assert.equal(await store.commitGroup("g", "", first, null, now), "conflict", "it exists now");
    const read = await store.loadGroup("g");
    const second = { id: "g", nextFlushAt: now, alerts: {}, note: "second" } as never;
    assert.equal(await store.commitGroup("g", read.raw, second, null, now), "ok", "from the current read");
    assert.equal(
      await store.commitGroup("g", read.raw, { id: "g", nextFlushAt: now, alerts: {} } as never, null, now),
      "conflict",
      "from the read before the second commit",
    );
    assert.equal(((await store.loadGroup("g")).group as unknown as { note: string }).note, "second");
    assert.equal(await store.commitGroup("g", (await store.loadGroup("g")).raw, null, null, now), "ok", "deleted");
    assert.equal(await r.exists("group:g"), 0);
  } finally {
    r.disconnect();
  }
});
