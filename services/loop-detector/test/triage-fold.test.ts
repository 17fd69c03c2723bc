// Under load an opening waits a little for its triage and carries it: one `opened` event instead
// of `opened` + `updated`. Every loop is still asked once and triaged once, whichever way.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { endpoint } from "@mirror/bus";
import { entityKey, loopId, modelTriage } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { createStore } from "@mirror/kit";
import { Detector } from "../src/detector.js";
import { LoopStore } from "../src/store.js";
import { Triager } from "../src/triage.js";
import { Harness, silent } from "./harness.js";

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

const CFG = "loops: { tick: 50ms, triageTimeout: 5s, triageRetry: 1m, rules: { repo.dirty: { after: 0s } } }";
const dirtyId = (repo: string) => loopId("repo.dirty", entityKey({ type: "repo", repo }));

async function adapter(delayMs: number, asked: string[]) {
  return h.scanner.service({
    name: "mirror-model",
    version: "0.0.1",
    queue: "mirror-model",
    endpoints: [
      endpoint(modelTriage, async (req) => {
        asked.push(req.loop.id);
        await new Promise((r) => setTimeout(r, delayMs));
        return {
          adapter: "test",
          model: "fixed",
          severity: "medium" as const,
          summary: "commit it",
          nextAction: "git commit",
        };
      }),
    ],
  });
}

/** Every loop: asked once, its triage published once (folded into `opened`, or as its own `updated`). */
async function assertTriagedOnce(repos: string[], asked: string[]): Promise<{ folded: number }> {
  let folded = 0;
  for (const r of repos) {
    const id = dirtyId(r);
    const events = await waitFor(`${r} triaged`, () => {
      const e = h.eventsFor(id);
      return e.some((x) => x.data.loop.triage) ? e : undefined;
    });
    const withTriage = events.filter((e) => e.data.loop.triage);
    assert.equal(withTriage.length, 1, `${r}: one event carries the triage`);
    const opened = events.filter((e) => e.subject.startsWith("mirror.loop.opened."));
    assert.equal(opened.length, 1, `${r}: opened once`);
    if (opened[0]?.data.loop.triage) {
      folded++;
      assert.equal(events.length, 1, `${r}: a folded opening needs no update`);
      assert.equal(opened[0].msgId, `${id}:1`);
      assert.equal(opened[0].data.loop.triage?.summary, "commit it");
      assert.equal(opened[0].data.loop.history.at(-1)?.note, "triaged");
    } else assert.equal(withTriage[0]?.data.reason, "triaged");
    assert.equal(asked.filter((a) => a === id).length, 1, `${r}: the model was asked once`);
  }
  return { folded };
}

/** A detector and its triager wired as app.ts wires them, driven directly (busy or not). */
function wired() {
  const cfg = h.config(CFG);
  const store = new LoopStore(createStore(h.redis.url, "loop-detector", silent));
  const detector = new Detector({ config: cfg, store, bus: h.scanner, clock: h.clock, log: silent });
  const outcomes: string[] = [];
  const triager = new Triager({
    bus: h.scanner,
    engine: detector.engine,
    store,
    clock: h.clock,
    log: silent,
    timeoutMs: 5_000,
    retryMs: 60_000,
    historyLimit: 50,
    onOutcome: (o) => outcomes.push(o),
  });
  detector.onOpened = (loop) => triager.start(loop);
  detector.folding = triager;
  return { store, detector, triager, outcomes };
}

test("openings made while others wait carry a fast answer; each loop is asked and triaged once", async () => {
  const asked: string[] = [];
  const model = await adapter(0, asked);
  const { store, detector, triager, outcomes } = wired();
  try {
    const repos = Array.from({ length: 12 }, (_, i) => `/r/fold-${i}`);
    // The first half as if others waited behind each (folded; one after another, so the model
    // always has a free slot), the rest as if alone (triaged after the opening).
    for (const r of repos.slice(0, 6)) await detector.onRepoSnapshot(h.snapshot(r, { staged: 1 }), undefined, true);
    await Promise.all(repos.slice(6).map((r) => detector.onRepoSnapshot(h.snapshot(r, { staged: 1 }))));
    const { folded } = await assertTriagedOnce(repos, asked);
    assert.equal(folded, 6, "every busy opening carried its triage, and no other");
    await triager.stop();
    assert.equal(outcomes.filter((o) => o === "ok").length, repos.length);
    // No triage is left pending: no lease for a folded loop, the others cleared when stored.
    assert.equal(await store.redis.zcard("triage"), 0);
  } finally {
    await model.stop();
    await store.redis.quit();
  }
});

test("a burst of openings at once, the model known fast: every one carries its answer", async () => {
  const asked: string[] = [];
  const model = await adapter(0, asked);
  const { store, detector, triager } = wired();
  try {
    // One answer first: until the model has answered, a burst is asked a few at a time.
    await detector.onRepoSnapshot(h.snapshot("/r/burst-first", { staged: 1 }), undefined, true);
    const repos = Array.from({ length: 16 }, (_, i) => `/r/burst-${i}`);
    // As the snapshot consumer runs a burst: 16 held at once, each with others behind it.
    await Promise.all(repos.map((r) => detector.onRepoSnapshot(h.snapshot(r, { staged: 1 }), undefined, true)));
    const { folded } = await assertTriagedOnce(repos, asked);
    assert.equal(folded, repos.length, "no opening of the burst went out without its triage");
    await triager.stop();
    assert.equal(await store.redis.zcard("triage"), 0);
  } finally {
    await model.stop();
    await store.redis.quit();
  }
});

test("an answer slower than the fold wait comes as `updated`, from the same request", async () => {
  const asked: string[] = [];
  const model = await adapter(300, asked);
  const { store, detector, triager } = wired();
  try {
    const repos = Array.from({ length: 4 }, (_, i) => `/r/slow-${i}`);
    await Promise.all(repos.map((r) => detector.onRepoSnapshot(h.snapshot(r, { staged: 1 }), undefined, true)));
    const { folded } = await assertTriagedOnce(repos, asked);
    assert.equal(folded, 0);
    await triager.stop();
    assert.equal(await store.redis.zcard("triage"), 0);
  } finally {
    await model.stop();
    await store.redis.quit();
  }
});
