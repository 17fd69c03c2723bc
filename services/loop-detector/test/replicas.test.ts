import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { entityKey, loopId } from "@mirror/contracts";
import { createStore } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { Detector } from "../src/detector.js";
import { LoopStore } from "../src/store.js";
import { Harness, silent } from "./harness.js";
import { raw } from "@mirror/bus/testing";

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

const CFG = "loops: { tick: 20ms, triage: false, rules: { repo.dirty: { after: 0s } } }";
const dirtyId = (repo: string) => loopId("repo.dirty", entityKey({ type: "repo", repo }));

/** Sum of a counter over the given detectors' registries. */
async function openedCount(registries: { getSingleMetric(name: string): unknown }[]): Promise<number> {
  let n = 0;
  for (const r of registries) {
    const m = r.getSingleMetric("mirror_loop_events_total") as {
      get(): Promise<{ values: { value: number; labels: { event?: string } }[] }>;
    };
    for (const v of (await m.get()).values) if (v.labels.event === "opened") n += v.value;
  }
  return n;
}

test("two detector instances on one durable consumer open each loop exactly once", async () => {
  const a = await h.detector(CFG);
  const b = await h.detector(CFG);
  const repos = Array.from({ length: 12 }, (_, i) => `/r/replica-${i}`);
  // Every repo is reported dirty several times with different ids, so both replicas see the same condition at once.
  for (let round = 0; round < 4; round++) {
    await Promise.all(
      repos.map((r) =>
        h.publish(h.snapshot(r, { staged: 1 + round, dirtySince: new Date(h.clock.now()).toISOString() })),
      ),
    );
  }
  await waitFor("every loop opened", () => new Set(h.events.map((e) => e.data.loop.id)).size === repos.length);
  await h.settled();
  assert.equal(
    await openedCount([a.ctx.registry, b.ctx.registry]),
    repos.length,
    "one opening per loop across both replicas",
  );
  for (const r of repos) {
    const revs = h.eventsFor(dirtyId(r)).map((e) => e.msgId);
    assert.deepEqual([...new Set(revs)], [`${dirtyId(r)}:1`], `${r}: only rev 1 was ever published`);
  }
  const jsm = await raw(h.scanner).manager();
  const info = await jsm.streams.info("MIRROR", { subjects_filter: "mirror.loop.>" });
  assert.equal(Object.keys(info.state.subjects ?? {}).length, repos.length);
  assert.ok(Object.values(info.state.subjects ?? {}).every((n) => n === 1));
});

test("concurrent writers on one entity: compare-and-set lets exactly one open the loop", async () => {
  const cfg = h.config(CFG);
  const stores = [0, 1].map(() => new LoopStore(createStore(h.redis.url, "loop-detector", silent)));
  const detectors = stores.map(
    (store) => new Detector({ config: cfg, store, bus: h.scanner, clock: h.clock, log: silent }),
  );
  try {
    const path = "/r/race";
    const snaps = Array.from({ length: 20 }, () => h.snapshot(path, { untracked: 1 }));
    const results = await Promise.all(snaps.map((s, i) => (detectors[i % 2] as Detector).onRepoSnapshot(s)));
    const opened = results.flatMap((m) => m?.changes ?? []).filter((c) => c.event === "opened");
    assert.equal(opened.length, 1);
    const cur = await (stores[0] as LoopStore).read(entityKey({ type: "repo", repo: path }));
    assert.equal(cur.state?.obs?.seq, Math.max(...snaps.map((s) => s.seq)), "the newest snapshot is the one stored");
    assert.equal(cur.state?.loops["repo.dirty"]?.loop.rev, 1);
    assert.equal(
      (await (stores[0] as LoopStore).counts())["repo.dirty|low|open"],
      1,
      "counters stay exact under contention",
    );
  } finally {
    for (const s of stores) await s.redis.quit();
  }
});

test("a replica that remembers its last commit of an entity still builds on what another replica wrote since", async () => {
  const cfg = h.config(CFG);
  const stores = [0, 1].map(() => new LoopStore(createStore(h.redis.url, "loop-detector", silent)));
  const stale: string[] = [];
  const [a, b] = stores.map(
    (store) =>
      new Detector({
        config: cfg,
        store,
        bus: h.scanner,
        clock: h.clock,
        log: silent,
        onStale: (source) => stale.push(source),
      }),
  ) as [Detector, Detector];
  try {
    const path = "/r/remembered";
    const key = entityKey({ type: "repo", repo: path });
    const dirty1 = h.snapshot(path, { untracked: 1 });
    const older = h.snapshot(path, { untracked: 2 });
    const clean = h.snapshot(path);
    const dirty2 = h.snapshot(path, { untracked: 3 });
    assert.equal((await a.onRepoSnapshot(dirty1))?.changes[0]?.event, "opened");
    // b closes the loop; a still remembers it open, at the version it wrote.
    assert.equal((await b.onRepoSnapshot(clean))?.changes[0]?.event, "closed");
    // Newer than what a remembers, older than what b stored: a's commit fails, the fresh read says
    // stale, and it is counted once.
    assert.equal(await a.onRepoSnapshot(older), null);
    assert.deepEqual(stale, ["repo"]);
    // a remembers nothing current: its reopening is computed on b's closed loop, not its own open one.
    const m = await a.onRepoSnapshot(dirty2);
    assert.equal(m?.changes[0]?.event, "opened");
    const cur = await (stores[0] as LoopStore).read(key);
    assert.equal(cur.state?.obs?.seq, dirty2.seq);
    assert.equal(cur.state?.loops["repo.dirty"]?.loop.status, "open");
    assert.equal(cur.state?.loops["repo.dirty"]?.loop.rev, 3, "opened, closed by b, opened again");
  } finally {
    for (const s of stores) await s.redis.quit();
  }
});
