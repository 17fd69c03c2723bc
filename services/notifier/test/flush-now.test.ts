// A loop event that makes its group due at once (`groupWait: 0s`) stores the group's delivery in
// its own commit, so the send waits for no tick; what the tick would decide, it decides the same.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { parseConfig } from "@mirror/kit";
import { type ServerHandle, startRedis } from "@mirror/testkit";
import { Redis } from "ioredis";
import { flushDue } from "../src/flusher.js";
import type { FlushEnv } from "../src/group.js";
import { type LoopEventDeps, type LoopEventOutcome, onLoopEvent } from "../src/handlers/on-loop-event.js";
import { Router } from "../src/routing.js";
import { type Delivery, NotifierStore } from "../src/store.js";
import { makeLoop, silent } from "./harness.js";

let redis: ServerHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.dispose();
});

/** Deliveries an event stored, claimed by its commit or not. */
const stored = (o: LoopEventOutcome) => o.unclaimed + o.claimed.length;
const NOW = Date.parse("2026-03-03T12:00:00.000Z");
const open: FlushEnv = { silenced: () => false, inhibited: () => false, quiet: null };

function setup(prefix: string, yaml: string, env: () => FlushEnv | undefined) {
  const r = new Redis(redis.url, { keyPrefix: `mirror:${prefix}:` });
  const cfg = parseConfig(yaml, {}).notifier;
  const store = new NotifierStore(r);
  let envReads = 0;
  const deps: LoopEventDeps = {
    store,
    router: new Router(cfg),
    clock: { now: () => NOW },
    log: silent,
    flushNow: {
      env: async () => {
        envReads++;
        const e = env();
        return e ? () => e : undefined;
      },
      externalURL: () => cfg.externalURL,
    },
  };
  const tick = (at = NOW) =>
    flushDue(at, { store, router: deps.router, externalURL: cfg.externalURL, env: () => open });
  const owed = async () => (await store.claimDeliveries(NOW, 60_000, 100, `t-${Math.random()}`)).map((c) => c.delivery);
  const finish = async (d: Delivery | undefined) => d && (await store.finishDelivery(d, NOW));
  return { r, store, deps, tick, owed, finish, envReads: () => envReads };
}

const AT_ONCE = `notifier: { groupWait: 0s, groupInterval: 5m, groupBy: [alertname, repo], channels: [ { name: hook, type: webhook, url: "http://127.0.0.1:9/x" } ] }\n`;

test("a group due at once is flushed by the event's own commit: its delivery is owed before any tick", async () => {
  const s = setup("notifier-flush-now", AT_ONCE, () => open);
  try {
    const loop = makeLoop({ repo: "/src/now" });
    const out = await onLoopEvent({ loop, reason: "dirty" }, s.deps);
    assert.equal(stored(out), 1, "the handler stored a delivery");
    assert.equal(out.dueNow, false, "nothing is left for a tick to flush now");
    assert.deepEqual(await s.tick(), [], "the tick finds nothing due");
    const [d, ...rest] = await s.owed();
    assert.equal(rest.length, 0);
    assert.equal(d?.message.status, "firing");
    assert.deepEqual(
      d?.message.alerts.map((a) => a.fingerprint),
      [loop.id],
    );
    // A redelivery of the same event writes nothing and owes nothing more.
    assert.equal(stored(await onLoopEvent({ loop, reason: "dirty" }, s.deps)), 0);
    // Its resolution goes out at once too (once the firing one is sent: a group's messages go
    // out in order), and ends the group.
    const closed = { ...loop, status: "closed" as const, rev: 2, closedAt: "2026-03-03T12:00:01.000Z" };
    assert.equal(stored(await onLoopEvent({ loop: closed, reason: "clean" }, s.deps)), 1);
    await s.finish(d);
    const owed = await s.owed();
    assert.equal(owed.map((x) => x?.message.status).join(), "resolved");
    // A stale revision after it (a slow replica) sends no second firing.
    assert.equal(stored(await onLoopEvent({ loop: { ...loop, rev: 1 }, reason: "dirty" }, s.deps)), 0);
    assert.deepEqual(await s.tick(), []);
  } finally {
    s.r.disconnect();
  }
});

test("a silence in force holds the immediate flush as the tick would: no delivery, the loop kept in its group", async () => {
  let silenced = true;
  const s = setup("notifier-flush-silenced", AT_ONCE, () => ({ ...open, silenced: () => silenced }));
  try {
    const loop = makeLoop({ repo: "/src/silenced" });
    const out = await onLoopEvent({ loop, reason: "dirty" }, s.deps);
    assert.equal(stored(out), 0);
    assert.deepEqual(await s.owed(), []);
    // The silence ends: the tick (its own view, nothing silenced) sends the firing message at
    // the group's next look, a groupInterval later, as after a silenced tick.
    silenced = false;
    assert.deepEqual(await s.tick(), []);
    assert.equal((await s.tick(NOW + 5 * 60_000)).map((d) => d.message.status).join(), "firing");
  } finally {
    s.r.disconnect();
  }
});

test("routes that wait (groupWait above zero) read no flush view, and inhibit rules leave every flush to the tick", async () => {
  const waits = setup(
    "notifier-flush-waits",
    `notifier: { groupWait: 30s, groupBy: [alertname, repo], channels: [ { name: hook, type: webhook, url: "http://127.0.0.1:9/x" } ] }\n`,
    () => open,
  );
  try {
    const out = await onLoopEvent({ loop: makeLoop({ repo: "/src/waits" }), reason: "dirty" }, waits.deps);
    assert.equal(stored(out), 0);
    assert.equal(out.dueAt, NOW + 30_000);
    assert.equal(waits.envReads(), 0, "no read for a flush that cannot happen");
  } finally {
    waits.r.disconnect();
  }
  // What app.ts passes with inhibit rules configured: no view (inhibition reads the firing loops
  // after this event's commit), so the group is due and the tick flushes it.
  const inhibits = setup("notifier-flush-inhibit", AT_ONCE, () => undefined);
  try {
    const out = await onLoopEvent({ loop: makeLoop({ repo: "/src/inhibit" }), reason: "dirty" }, inhibits.deps);
    assert.equal(stored(out), 0);
    assert.equal(out.dueNow, true, "the caller kicks a tick");
    assert.equal((await inhibits.tick()).map((d) => d.message.status).join(), "firing");
  } finally {
    inhibits.r.disconnect();
  }
});

test("with a claim, the commit that stores a delivery due at once claims it; one parked behind an earlier one is not", async () => {
  const s = setup("notifier-flush-claim", AT_ONCE, () => open);
  try {
    let n = 0;
    s.deps.flushNow = {
      ...(s.deps.flushNow as NonNullable<LoopEventDeps["flushNow"]>),
      claim: () => ({ token: `commit-${++n}`, lease: 20_000, asked: performance.now() }),
    };
    const loop = makeLoop({ repo: "/src/claimed" });
    const out = await onLoopEvent({ loop, reason: "dirty" }, s.deps);
    assert.equal(out.unclaimed, 0);
    assert.equal(out.claimed.length, 1);
    const [{ delivery, claim } = {} as never] = out.claimed;
    assert.equal(delivery.message.status, "firing");
    assert.equal(await s.r.get(`claim:${delivery.id}`), claim.token, "held by the commit's token");
    assert.equal(
      Number(await s.r.zscore("deliveries:due", delivery.id)),
      NOW + 20_000,
      "due again when the lease ends",
    );
    assert.deepEqual(await s.owed(), [], "no other claim takes it meanwhile");
    // Its resolution, while the firing one is still owed: stored parked, not claimed.
    const closed = { ...loop, status: "closed" as const, rev: 2, closedAt: "2026-03-03T12:00:01.000Z" };
    const next = await onLoopEvent({ loop: closed, reason: "clean" }, s.deps);
    assert.equal(next.claimed.length, 0);
    assert.equal(next.unclaimed, 1);
    assert.deepEqual(await s.owed(), []);
    // The firing one is done: the resolved one is due, and a claim takes it.
    await s.finish(delivery);
    assert.equal((await s.owed()).map((d) => d?.message.status).join(), "resolved");
  } finally {
    s.r.disconnect();
  }
});
