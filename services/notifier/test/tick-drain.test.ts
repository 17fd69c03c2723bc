// One tick flushes every due group and starts every due delivery, not one batch of each: with a
// batch per tick, a busy notifier (its tick slowed by a storm of events over many groups) sent
// at most 50 messages per tick. Real Redis, NATS and HTTP receiver; the tick's parts are called
// directly so that "one tick" is exact.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type NotifierConfig, NotifyOutcome } from "@mirror/contracts";
import { parseConfig } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { jetstreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { buildChannels } from "../src/channels/index.js";
import { Deliverer } from "../src/deliverer.js";
import { flushDue } from "../src/flusher.js";
import type { FlushEnv } from "../src/group.js";
import { onLoopEvent } from "../src/handlers/on-loop-event.js";
import { NotifyMetrics } from "../src/metrics.js";
import { Router } from "../src/routing.js";
import { NotifierStore } from "../src/store.js";
import { Harness, makeLoop, silent } from "./harness.js";
import { raw } from "@mirror/bus/testing";

let h: Harness;
/** The flush view with nothing silenced, inhibited or held by quiet hours. */
const env = (): FlushEnv => ({ silenced: () => false, inhibited: () => false, quiet: null });

/** A Deliverer over `store` sending through the config's channels, receipts on the harness's bus. */
function makeDeliverer(store: NotifierStore, cfg: NotifierConfig, clock: { now(): number }): Deliverer {
  return new Deliverer({
    store,
    bus: h.publisher,
    clock,
    log: silent,
    metrics: new NotifyMetrics(new Registry()),
    channels: buildChannels(cfg.channels, { onMissingField: () => {} }),
    maxAttempts: 3,
    backoffMs: 1_000,
    maxBackoffMs: 10_000,
    rateLimits: new Map(),
    random: () => 0.5,
  });
}
/** A store on its own key prefix and the router of one webhook channel that posts to the harness's receiver. */
function webhookSetup(channel: string, prefix: string, groupBy = "groupBy: [alertname, repo], ") {
  const cfg = parseConfig(
    `notifier: { groupWait: 0s, ${groupBy}channels: [ { name: ${channel}, type: webhook, url: "${h.receiver.url}" } ] }\n`,
    {},
  ).notifier;
  const redis = new Redis(h.redis.url, { keyPrefix: `mirror:${prefix}:` });
  return { cfg, redis, store: new NotifierStore(redis), router: new Router(cfg) };
}
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.stop();
});

test("one tick flushes every due group and starts every due delivery, past one batch of each", {
  timeout: 60_000,
}, async () => {
  const { cfg, redis, store, router } = webhookSetup("hook", "notifier");
  try {
    const now = Date.parse("2026-03-01T12:00:00.000Z");
    const clock = { now: () => now };
    // 230 loops, each in its own group (groupBy repo), all due at once: more than two flush
    // batches (100) and four claim batches (50).
    const count = 230;
    for (let i = 0; i < count; i++)
      await onLoopEvent(
        { loop: makeLoop({ repo: `/src/r${i}` }), reason: "test" },
        { store, router, clock, log: silent },
      );
    assert.equal((await store.dueGroups(now, 1_000)).length, count, "every group is due");

    const deliveries = await flushDue(now, { store, router, externalURL: cfg.externalURL, env });
    assert.equal(deliveries.length, count, "one flush made a delivery for every due group");
    assert.deepEqual(await store.dueGroups(now, 1_000), [], "no group is left due after one flush");

    const deliverer = makeDeliverer(store, cfg, clock);
    assert.equal(await deliverer.runDue(), count, "one run started every due delivery");
    await deliverer.idle();
    const repos = new Set(
      h.receiver.requests.map(
        (r) => (JSON.parse(r.body) as { alerts: { labels: { repo: string } }[] }).alerts[0]?.labels.repo,
      ),
    );
    assert.equal(repos.size, count, "the receiver got one message per group");
    assert.equal(await store.pendingDeliveries(), 0, "nothing is owed afterwards");
    assert.equal(await deliverer.runDue(), 0, "a second run finds nothing due");
    await deliverer.stop();
  } finally {
    redis.disconnect();
  }
});

test("a delivery marked sent by a process that died before its receipt is not sent again: the next one only publishes the receipt", {
  timeout: 60_000,
}, async () => {
  const { cfg, redis, store, router } = webhookSetup("marked", "notifier-sent", "");
  try {
    let now = Date.parse("2026-03-02T12:00:00.000Z");
    const clock = { now: () => now };
    await onLoopEvent(
      { loop: makeLoop({ repo: "/src/sent-once" }), reason: "test" },
      { store, router, clock, log: silent },
    );
    const [delivery] = await flushDue(now, { store, router, externalURL: cfg.externalURL, env });
    assert.ok(delivery);
    // The dead process: it claimed the delivery, its POST went through (not to this receiver),
    // it marked the delivery sent and died before publishing the receipt.
    const [claimed] = await store.claimDeliveries(now, 300);
    assert.equal(claimed?.id, delivery.id);
    await store.markSent(delivery.id, 1, now + 5_000);
    const before = h.receiver.requests.length;

    now += 6_000;
    // Its claim lapses in the server's time (300 ms), whatever the clocks say.
    const again = await waitFor(
      "the dead process's claim lapsed",
      async () => (await store.claimDeliveries(now, 10_000))[0],
      { interval: 50 },
    );
    assert.equal(again?.delivery?.state, "sent", "the mark is read with the document");
    assert.equal(again?.delivery?.attempt, 1);
    // The look above was a claim too: give it back so the deliverer can take the delivery.
    await redis.multi().zadd("deliveries:due", now, delivery.id).del(`claim:${delivery.id}`).exec();
    const deliverer = makeDeliverer(store, cfg, clock);
    assert.equal(await deliverer.runDue(), 1);
    await deliverer.idle();
    const receipt = await waitFor("the receipt", async () => {
      const jsm = await jetstreamManager(raw(h.publisher).nc);
      const m = await jsm.streams.getMessage("MIRROR", { last_by_subj: "mirror.notify.sent.marked" }).catch(() => null);
      return m ? NotifyOutcome.parse(m.json()) : undefined;
    });
    assert.equal(receipt.deliveryId, delivery.id);
    assert.equal(receipt.attempt, 1);
    assert.equal(h.receiver.requests.length, before, "the message was not sent a second time");
    assert.equal(await store.pendingDeliveries(), 0);
    assert.equal(
      await redis.exists(`sent:${delivery.id}`, `delivery:${delivery.id}`),
      0,
      "the mark goes with the document",
    );
    await deliverer.stop();
  } finally {
    redis.disconnect();
  }
});

test("a claim made moments ago is sent on without a hold; one that waited past half the send margin is held first, and not sent once another replica took it", {
  timeout: 60_000,
}, async () => {
  const { cfg, redis, store, router } = webhookSetup("fenced", "notifier-hold");
  try {
    const now = Date.parse("2026-03-03T12:00:00.000Z");
    const clock = { now: () => now };
    const holds: string[] = [];
    const hold = store.holdClaim.bind(store);
    store.holdClaim = (id, token, ms) => {
      holds.push(id);
      return hold(id, token, ms);
    };
    const sentTo = (repo: string) =>
      h.receiver.requests.filter(
        (r) => (JSON.parse(r.body) as { alerts: { labels: { repo: string } }[] }).alerts[0]?.labels.repo === repo,
      ).length;
    const deliverer = makeDeliverer(store, cfg, clock);

    await onLoopEvent(
      { loop: makeLoop({ repo: "/src/fresh" }), reason: "test" },
      { store, router, clock, log: silent },
    );
    await flushDue(now, { store, router, externalURL: cfg.externalURL, env });
    assert.equal(await deliverer.runDue(), 1);
    await deliverer.idle();
    assert.equal(sentTo("/src/fresh"), 1, "sent");
    assert.deepEqual(holds, [], "a fresh claim needs no hold round trip");

    // Stalled after its claim (a GC pause, a stopped process) for more than half the margin.
    const claim = store.claimDeliveries.bind(store);
    let takeOver = false;
    store.claimDeliveries = async (...args) => {
      const claimed = await claim(...args);
      await new Promise((r) => setTimeout(r, 2_600));
      // Meanwhile another replica took the claim over.
      if (takeOver) for (const c of claimed) await redis.set(`claim:${c.id}`, "token-of-another-replica", "PX", 60_000);
      return claimed;
    };
    await onLoopEvent({ loop: makeLoop({ repo: "/src/held" }), reason: "test" }, { store, router, clock, log: silent });
    await flushDue(now, { store, router, externalURL: cfg.externalURL, env });
    assert.equal(await deliverer.runDue(), 1);
    await deliverer.idle();
    assert.equal(sentTo("/src/held"), 1, "still its own claim after the stall: sent");
    assert.equal(holds.length, 1, "after the hold");

    takeOver = true;
    await onLoopEvent({ loop: makeLoop({ repo: "/src/lost" }), reason: "test" }, { store, router, clock, log: silent });
    await flushDue(now, { store, router, externalURL: cfg.externalURL, env });
    assert.equal(await deliverer.runDue(), 1);
    await deliverer.idle();
    assert.equal(holds.length, 2);
    assert.equal(sentTo("/src/lost"), 0, "the stalled replica does not send what another one holds");
    await deliverer.stop();
  } finally {
    redis.disconnect();
  }
});

test("a delivery claimed by its loop event's commit is sent at once; a stopping deliverer gives such a claim back for others to take now", {
  timeout: 60_000,
}, async () => {
  const { cfg, redis, store, router } = webhookSetup("commit-claim", "notifier-commit-claim");
  try {
    const now = Date.parse("2026-03-04T12:00:00.000Z");
    const clock = { now: () => now };
    const deps = (deliverer: Deliverer) => ({
      store,
      router,
      clock,
      log: silent,
      flushNow: { env: async () => env, externalURL: () => cfg.externalURL, claim: () => deliverer.newClaim() },
    });
    const posted = (repo: string) =>
      h.receiver.requests.filter(
        (r) => (JSON.parse(r.body) as { alerts: { labels: { repo: string } }[] }).alerts[0]?.labels.repo === repo,
      ).length;

    const deliverer = makeDeliverer(store, cfg, clock);
    const sent = await onLoopEvent({ loop: makeLoop({ repo: "/src/at-once" }), reason: "test" }, deps(deliverer));
    const [first] = sent.claimed;
    assert.ok(first, "the commit claimed the delivery it stored");
    assert.equal(deliverer.startClaimed(first.delivery, first.claim), true);
    await deliverer.idle();
    assert.equal(posted("/src/at-once"), 1, "sent with no claim and no tick of its own");
    assert.equal(await store.pendingDeliveries(), 0, "and finished");

    const stopping = makeDeliverer(store, cfg, clock);
    await stopping.stop();
    const late = await onLoopEvent({ loop: makeLoop({ repo: "/src/given-back" }), reason: "test" }, deps(stopping));
    const [second] = late.claimed;
    assert.ok(second);
    assert.equal(stopping.startClaimed(second.delivery, second.claim), false, "a stopping deliverer sends nothing new");
    await waitFor("the claim given back", async () => (await redis.get(`claim:${second.delivery.id}`)) === null, {
      interval: 20,
    });
    const other = makeDeliverer(store, cfg, clock);
    assert.equal(await other.runDue(), 1, "another deliverer takes it at once, not after the lease");
    await other.idle();
    assert.equal(posted("/src/given-back"), 1);
    await other.stop();
    await deliverer.stop();
  } finally {
    redis.disconnect();
  }
});
