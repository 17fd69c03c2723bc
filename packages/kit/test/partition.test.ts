import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createLogger, createStore, ManualClock, ownerOf, Partition, PartitionView } from "@mirror/kit";
import { type ServerHandle, startRedis, waitFor } from "@mirror/testkit";

const silent = createLogger("test", { write: () => true } as never, "silent");
const items = Array.from({ length: 1_000 }, (_, i) => `check-${i}`);

test("rendezvous: every item has one owner, shares are even, and a leaving member moves only its own items", () => {
  const three = ["a", "b", "c"];
  const owners = new Map(items.map((i) => [i, ownerOf(i, three)]));
  for (const m of three) {
    const n = [...owners.values()].filter((o) => o === m).length;
    assert.ok(n > 250 && n < 420, `${m} owns ${n} of 1000`);
  }
  // Same answer whatever order the members come in.
  for (const i of items.slice(0, 50)) assert.equal(ownerOf(i, ["c", "a", "b"]), owners.get(i));
  const two = ["a", "c"];
  for (const i of items) {
    const before = owners.get(i);
    const now = ownerOf(i, two);
    if (before !== "b") assert.equal(now, before, `${i} moved although its owner stayed`);
    else assert.ok(now === "a" || now === "c");
  }
  assert.equal(ownerOf("x", []), undefined);
});

test("view: a lone replica acts at once; its lease lapses ttl - safety after the round was sent, not received", () => {
  const clock = new ManualClock(0);
  const v = new PartitionView("a", { ttl: 1_000, clock, safety: 100 });
  assert.equal(v.active, false);
  v.apply({ sentAt: 0, receivedAt: 400, existed: false, members: ["a"] });
  clock.set(400);
  assert.equal(v.active, true);
  assert.ok(items.every((i) => v.owns(i)));
  clock.set(899);
  assert.equal(v.active, true);
  clock.set(900);
  assert.equal(v.active, false, "a replica that could not renew stops before the store expires its entry");
  assert.ok(!v.owns("check-1"));
});

test("view: a newcomer that finds others waits one ttl; those others drop its share at once", () => {
  const clock = new ManualClock(0);
  const a = new PartitionView("a", { ttl: 1_000, clock });
  a.apply({ sentAt: 0, receivedAt: 1, existed: false, members: ["a"] });
  const b = new PartitionView("b", { ttl: 1_000, clock });
  clock.set(100);
  b.apply({ sentAt: 100, receivedAt: 110, existed: false, members: ["a", "b"] });
  const bShare = items.filter((i) => ownerOf(i, ["a", "b"]) === "b");
  assert.ok(bShare.length > 300);
  // Until a renews, a still runs everything and b nothing: no item has two owners.
  clock.set(200);
  assert.ok(bShare.every((i) => a.owns(i) && !b.owns(i)));
  clock.set(250);
  const change = a.apply({ sentAt: 250, receivedAt: 251, existed: true, members: ["a", "b"] });
  assert.deepEqual(change?.joined, ["b"]);
  assert.ok(bShare.every((i) => !a.owns(i)));
  assert.ok(
    bShare.every((i) => !b.owns(i)),
    "b waits out the ttl",
  );
  b.apply({ sentAt: 350, receivedAt: 351, existed: true, members: ["a", "b"] });
  a.apply({ sentAt: 500, receivedAt: 501, existed: true, members: ["a", "b"] });
  clock.set(1_110);
  b.apply({ sentAt: 1_000, receivedAt: 1_001, existed: true, members: ["a", "b"] });
  assert.ok(
    bShare.every((i) => b.owns(i)),
    "b settled",
  );
  assert.ok(
    items.every((i) => a.owns(i) !== b.owns(i) || !a.active),
    "each item has exactly one owner",
  );
});

test("view: a replica whose entry vanished while it held its lease (Redis failover) keeps acting; one whose lease lapsed settles again", () => {
  const clock = new ManualClock(0);
  const v = new PartitionView("a", { ttl: 1_000, clock });
  v.apply({ sentAt: 0, receivedAt: 1, existed: false, members: ["a"] });
  clock.set(300);
  v.apply({ sentAt: 300, receivedAt: 301, existed: false, members: ["a", "b"] });
  assert.equal(v.active, true);
  clock.set(5_000);
  assert.equal(v.active, false);
  v.apply({ sentAt: 5_000, receivedAt: 5_001, existed: false, members: ["a", "b"] });
  assert.equal(v.active, false, "came back after its lease lapsed: a newcomer again");
  clock.set(5_800);
  v.apply({ sentAt: 5_800, receivedAt: 5_801, existed: true, members: ["a", "b"] });
  assert.equal(v.active, false);
  clock.set(6_001);
  assert.equal(v.active, true);
});

test("view: a leaving member is reported, and its items move to the survivors", () => {
  const clock = new ManualClock(0);
  const v = new PartitionView("a", { ttl: 1_000, clock });
  v.apply({ sentAt: 0, receivedAt: 1, existed: false, members: ["a", "b"] });
  clock.set(1_001);
  v.apply({ sentAt: 1_001, receivedAt: 1_002, existed: true, members: ["a", "b"] });
  const change = v.apply({ sentAt: 1_200, receivedAt: 1_201, existed: true, members: ["a"] });
  assert.deepEqual(change, { joined: [], left: ["b"], before: ["a", "b"], members: ["a"], lastSeenAgo: 200 });
  assert.ok(items.every((i) => v.owns(i)));
});

let redis: ServerHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.dispose();
});

test("partition in a real Redis: two replicas split the items, a stopped one hands over at once, a killed one after its TTL", async () => {
  const stores = [createStore(redis.url, "ptest", silent), createStore(redis.url, "ptest", silent)];
  const changes: string[][] = [];
  const mk = (i: number, self: string) =>
    new Partition({
      store: stores[i] as never,
      group: "checks",
      ttl: 600,
      renewEvery: 100,
      log: silent,
      self,
      onChange: (c) => void changes.push(c.left),
    });
  const a = mk(0, "a");
  const b = mk(1, "b");
  try {
    await a.start();
    // Alone, it acts after its first answered round (on a loaded machine the first one, which
    // also loads the script, can outlast its 200 ms limit here; the next comes 200 ms later).
    await waitFor("alone: everything", async () => items.every((i) => a.owns(i)), { timeout: 2_000, interval: 10 });
    await b.start();
    await waitFor("b settled and a saw it", async () => b.view.active && a.view.live.length === 2, { timeout: 5_000 });
    for (const i of items) assert.equal(a.owns(i) !== b.owns(i), true, `${i} has one owner`);
    // A kill: b's rounds stop without leaving; a takes over once the store expired b's entry.
    (b as unknown as { stopped: boolean }).stopped = true;
    const killedAt = performance.now();
    await waitFor("a owns everything", async () => items.every((i) => a.owns(i)), { timeout: 5_000, interval: 20 });
    const took = performance.now() - killedAt;
    assert.ok(took >= 300 && took < 1_500, `took over after ${Math.round(took)} ms (ttl 600, renew 100)`);
    assert.ok(changes.some((l) => l.includes("b")));
    // b, back with a fresh member id, settles one ttl before it takes its share.
    const b2 = mk(1, "b2");
    await b2.start();
    assert.equal(b2.view.active, false);
    await waitFor("b2 settled", async () => b2.view.active && a.view.live.includes("b2"), { timeout: 5_000 });
    for (const i of items) assert.equal(a.owns(i) !== b2.owns(i), true);
    // A clean stop leaves at once: a takes over at its next round, well before the ttl.
    const stoppedAt = performance.now();
    await b2.stop();
    await waitFor("a owns everything again", async () => items.every((i) => a.owns(i)), {
      timeout: 5_000,
      interval: 10,
    });
    assert.ok(performance.now() - stoppedAt < 400);
  } finally {
    await a.stop();
    for (const s of stores) s.disconnect();
  }
});

test("view: holdOnOutage keeps acting on the last view while the store is away, and needs no settling when it answers again", () => {
  const clock = new ManualClock(0);
  const held = new PartitionView("a", { ttl: 1_000, clock, holdOnOutage: true });
  const strict = new PartitionView("a", { ttl: 1_000, clock });
  for (const v of [held, strict]) v.apply({ sentAt: 0, receivedAt: 1, existed: false, members: ["a", "b"] });
  clock.set(5_000);
  held.fail();
  strict.fail();
  assert.equal(strict.active, false);
  assert.equal(held.active, true);
  assert.ok(
    items.every((i) => held.owns(i) === (ownerOf(i, ["a", "b"]) === "a")),
    "the share of its last view",
  );
  held.apply({ sentAt: 6_000, receivedAt: 6_001, existed: false, members: ["a", "b"] });
  clock.set(6_002);
  assert.equal(held.active, true);
});

test("clocks skewed by +5 and -5 minutes: never two owners of an item, and the survivor takes a killed replica's share after the TTL", async () => {
  // Issue 24, bad input. Leases are Redis TTLs (the server's clock) and a replica measures its own
  // lease as elapsed time on its clock, so a constant skew of minutes changes nothing.
  const stores = [createStore(redis.url, "pskew", silent), createStore(redis.url, "pskew", silent)];
  const skewed = (ms: number) => ({ now: () => Date.now() + ms });
  const mk = (i: number, self: string, skew: number) =>
    new Partition({
      store: stores[i] as never,
      group: "checks",
      ttl: 600,
      renewEvery: 100,
      log: silent,
      self,
      clock: skewed(skew),
    });
  const fast = mk(0, "fast", 300_000);
  const slow = mk(1, "slow", -300_000);
  const sample = items.slice(0, 200);
  let double = 0;
  let orphan = 0;
  const look = () => {
    for (const i of sample) {
      const owners = Number(fast.owns(i)) + Number(slow.owns(i));
      if (owners > 1) double++;
      if (owners === 0 && fast.view.active && slow.view.active) orphan++;
    }
  };
  try {
    await fast.start();
    await slow.start();
    const watch = setInterval(look, 10);
    await waitFor("both active", async () => fast.view.active && slow.view.active && fast.view.live.length === 2, {
      timeout: 5_000,
    });
    await new Promise((r) => setTimeout(r, 1_000));
    for (const i of sample) assert.equal(fast.owns(i) !== slow.owns(i), true, `${i} has one owner`);
    (fast as unknown as { stopped: boolean }).stopped = true;
    const killedAt = performance.now();
    await waitFor("slow owns everything", async () => sample.every((i) => slow.owns(i)), {
      timeout: 5_000,
      interval: 20,
    });
    const took = performance.now() - killedAt;
    clearInterval(watch);
    assert.equal(double, 0, "an item had two owners at once");
    assert.equal(orphan, 0, "an item had no owner while both were active");
    assert.ok(took >= 300 && took < 1_500, `took over after ${Math.round(took)} ms (ttl 600, renew 100)`);
  } finally {
    await slow.stop();
    for (const s of stores) s.disconnect();
  }
});

test("pause (a replica whose output cannot be delivered): it stops renewing, the other takes its share after the TTL, and it rejoins at once when it may", async () => {
  const stores = [createStore(redis.url, "ppause", silent), createStore(redis.url, "ppause", silent)];
  let why: string | undefined;
  // What b owns each time it resumes (its output is sent again then).
  const resumes: number[] = [];
  const mk = (i: number, self: string, pause?: () => string | undefined) =>
    new Partition({
      store: stores[i] as never,
      group: "checks",
      ttl: 600,
      renewEvery: 100,
      log: silent,
      self,
      holdOnOutage: true,
      ...(pause ? { pause, onResume: () => resumes.push(items.filter((i) => b.owns(i)).length) } : {}),
    });
  const a = mk(0, "a");
  const b = mk(1, "b", () => why);
  try {
    await a.start();
    await b.start();
    await waitFor("both active", async () => b.view.active && a.view.live.length === 2, { timeout: 5_000 });
    why = "a publish has waited 3100 ms for its JetStream ack";
    const pausedAt = performance.now();
    await waitFor("a owns everything", async () => items.every((i) => a.owns(i)), { timeout: 5_000, interval: 20 });
    const took = performance.now() - pausedAt;
    assert.ok(took >= 300 && took < 1_500, `a took b's share ${Math.round(took)} ms after b paused (ttl 600)`);
    assert.ok(b.view.active, "b keeps acting (holdOnOutage: probes are harmless to repeat)");
    assert.deepEqual(b.view.live, ["a", "b"], "a paused replica still reads who is live");
    assert.deepEqual(resumes, [], "no resume while paused");
    why = undefined;
    await waitFor("b back in a's view", async () => a.view.live.includes("b"), { timeout: 5_000 });
    assert.ok(b.view.active, "not a newcomer: no settling");
    for (const i of items) assert.equal(a.owns(i) !== b.owns(i), true);
    await waitFor("b resumed", async () => resumes.length > 0, { timeout: 5_000, interval: 20 });
    assert.equal(resumes.length, 1, "one resume per pause");
    assert.ok(
      (resumes[0] ?? 0) > 0 && (resumes[0] ?? 0) < items.length,
      `b owned its share when it resumed: ${resumes[0]}`,
    );
    // Every replica paused at once (a leader election stalls every publish): a dies meanwhile,
    // and b, still paused, takes its share from what it reads.
    why = "not connected to NATS";
    (a as unknown as { stopped: boolean }).stopped = true;
    await waitFor("paused b owns everything", async () => items.every((i) => b.owns(i)), {
      timeout: 5_000,
      interval: 20,
    });
    assert.equal(resumes.length, 1, "still paused: no resume");
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    for (const s of stores) s.disconnect();
  }
});
