import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ServerHandle, startRedis, waitFor } from "@mirror/testkit";
import { Redis } from "ioredis";
import type { Delivery } from "../src/store.js";
import { NotifierStore } from "../src/store.js";

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
  const [ra, rb] = [new Redis(redis.url, { keyPrefix: "mirror:notifier-fence:" }), new Redis(redis.url, { keyPrefix: "mirror:notifier-fence:" })];
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
    const claimB = await waitFor("a's claim lapsed on the server", async () => (await b.claimDeliveries(now + 300_000, 10_000, 10, "token-b"))[0], { interval: 50 });
    assert.equal(claimB.id, "d1");
    assert.equal(claimB.token, "token-b");
    assert.equal(await a.holdClaim("d1", "token-a", 10_000), false, "the late original is fenced off before its send");
    const failedByA = { ...delivery("d1"), attempt: 1, lastError: "late" };
    assert.equal(await a.saveClaimed(failedByA, now + 60_000, "token-a"), false, "and cannot overwrite the delivery");
    assert.equal(await b.holdClaim("d1", "token-b", 10_000), true);
    assert.equal(await b.saveClaimed({ ...delivery("d1"), attempt: 1, lastError: "retry" }, now, "token-b"), true, "the holder saves and gives the claim back");
    const [again] = await a.claimDeliveries(now, 400, 10, "token-a2");
    assert.equal(again?.delivery?.lastError, "retry", "b's state, not a's");
  } finally {
    ra.disconnect();
    rb.disconnect();
  }
});
