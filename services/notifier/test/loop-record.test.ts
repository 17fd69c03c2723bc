// A loop in one group has its record (newest revision, groups, firing labels for inhibition)
// saved by the group's own commit; the same outcome as the separate save it replaced.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { parseConfig } from "@mirror/kit";
import { startRedis, type ServerHandle } from "@mirror/testkit";
import { Redis } from "ioredis";
import { onLoopEvent } from "../src/handlers/on-loop-event.js";
import { Router } from "../src/routing.js";
import { NotifierStore } from "../src/store.js";
import { makeLoop, silent } from "./harness.js";

let redis: ServerHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.dispose();
});

test("a loop's record and firing labels go with its group's commit, and only forward", async () => {
  const cfg = parseConfig(
    `notifier: { groupWait: 30s, groupBy: [alertname, repo], channels: [ { name: hook, type: webhook, url: "http://127.0.0.1:9/" } ] }\n`,
    {},
  ).notifier;
  const r = new Redis(redis.url, { keyPrefix: "mirror:notifier-record:" });
  try {
    const store = new NotifierStore(r);
    const deps = {
      store,
      router: new Router(cfg),
      clock: { now: () => Date.parse("2026-03-01T12:00:00Z") },
      log: silent,
    };
    const opened = makeLoop({ repo: "/src/one" });
    await onLoopEvent({ loop: opened, reason: "test" }, deps);
    const [groupId] = (await store.loadLoopAndGroups(opened.id, [])).loop?.groups ?? [];
    assert.ok(groupId, "the record lists the loop's group");
    const firing = await store.activeLabels();
    assert.equal(firing.length, 1);
    assert.equal(firing[0]?.loop_id, opened.id, "its labels are among the firing ones");
    assert.equal((await store.loadGroup(groupId)).group?.alerts[opened.id]?.status, "firing");

    const closed = { ...opened, status: "closed" as const, rev: opened.rev + 1 };
    await onLoopEvent({ loop: closed, reason: "test" }, deps);
    assert.equal((await store.loadLoopAndGroups(opened.id, [])).loop?.rev, closed.rev);
    assert.deepEqual(await store.activeLabels(), [], "a closed loop is no longer firing");

    // The older event again (a redelivery): nothing goes back.
    await onLoopEvent({ loop: opened, reason: "test" }, deps);
    assert.equal((await store.loadLoopAndGroups(opened.id, [])).loop?.rev, closed.rev);
    assert.deepEqual(await store.activeLabels(), []);
    assert.equal((await store.loadGroup(groupId)).group?.alerts[opened.id]?.status, "resolved");
  } finally {
    r.disconnect();
  }
});
