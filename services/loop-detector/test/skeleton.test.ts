import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { entityKey, loopId } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { Harness } from "./harness.js";
import { raw } from "@mirror/bus/testing";

const H = 3_600_000;
let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

const dirtyId = (path: string) => loopId("repo.dirty", entityKey({ type: "repo", repo: path }));

test("repo.dirty opens on the tick once `after` has passed, and a clean snapshot closes it", async () => {
  await h.detector("loops: { tick: 50ms }");
  const path = "/home/me/src/app";
  const id = dirtyId(path);
  await h.publish(h.snapshot(path, { unstaged: 2, dirtySince: new Date(h.clock.now() - H).toISOString() }));
  await h.settled();
  assert.deepEqual(h.eventsFor(id), [], "dirty for 1h is not a loop yet (default after: 24h)");

  h.clock.advance(23 * H + 1);
  const opened = await waitFor("loop opened by the tick", () => h.eventsFor(id)[0]);
  assert.equal(opened.subject, `mirror.loop.opened.${id}`);
  assert.equal(opened.msgId, `${id}:1`);
  assert.equal(opened.data.loop.status, "open");
  assert.deepEqual(opened.data.loop.entity, { type: "repo", repo: path });
  assert.equal(opened.data.loop.kind, "repo.dirty");
  assert.equal(opened.data.loop.history[0]?.by, "rule:repo.dirty");

  await h.publish(h.snapshot(path));
  const closed = await waitFor("loop closed", () => h.eventsFor(id)[1]);
  assert.equal(closed.subject, `mirror.loop.closed.${id}`);
  assert.equal(closed.msgId, `${id}:2`);
  assert.equal(closed.data.loop.status, "closed");
  assert.equal(closed.data.reason, "resolved");
});

test("older and duplicate snapshots change nothing", async () => {
  await h.detector("loops: { tick: 50ms, rules: { repo.dirty: { after: 0s } } }");
  const path = "/srv/repos/site";
  const id = dirtyId(path);
  const old = h.snapshot(path, { untracked: 1, dirtySince: new Date(h.clock.now()).toISOString() });
  h.clock.advance(1_000);
  const clean = h.snapshot(path);
  await h.publish(clean);
  await h.settled();
  await h.publish(old);
  await h.publish(clean);
  await h.settled();
  assert.deepEqual(h.eventsFor(id), [], "an older dirty snapshot after a newer clean one opens nothing");

  h.clock.advance(1_000);
  const dirty = h.snapshot(path, { untracked: 1 });
  await h.publish(dirty);
  await waitFor("opened", () => h.eventsFor(id).length === 1);
  await h.publish(dirty);
  await h.publish(h.snapshot(path, { untracked: 3, seq: dirty.seq + 1 }));
  await h.settled();
  assert.equal(h.eventsFor(id).length, 1, "the same loop opens once");
});

test("two dirty repos at after: 0s open one loop each; a clean one opens none", async () => {
  await h.detector("loops: { tick: 50ms, rules: { repo.dirty: { after: 0s } } }");
  const [a, b, c] = ["/r/a", "/r/b", "/r/c"];
  await h.publish(h.snapshot(a, { staged: 1 }));
  await h.publish(h.snapshot(b, { untracked: 4 }));
  await h.publish(h.snapshot(c));
  await waitFor("two loops", () => h.events.length >= 2);
  await h.settled();
  assert.deepEqual(h.events.map((e) => e.data.loop.entity.repo).sort(), [a, b]);
});

test("events stored with a transition but never published (a crash) go out on the next start, once", async () => {
  const cfg = "loops: { tick: 50ms, rules: { repo.dirty: { after: 0s } } }";
  const first = await h.detector(cfg);
  const path = "/r/crashy";
  const id = dirtyId(path);
  await h.publish(h.snapshot(path, { staged: 1 }));
  await waitFor("opened", () => h.eventsFor(id).length === 1);
  await first.stop();
  // What a crash between commit and publish leaves behind: the transition and its event, stored together.
  const { LoopStore } = await import("../src/store.js");
  const { createStore } = await import("@mirror/kit");
  const redis = createStore(h.redis.url, "loop-detector", first.ctx.log);
  const store = new LoopStore(redis);
  const key = entityKey({ type: "repo", repo: path });
  const cur = await store.read(key);
  assert.ok(cur.state);
  const loop = { ...cur.state.loops["repo.dirty"]!.loop, status: "acknowledged" as const, rev: 2 };
  const state = { ...cur.state, loops: { "repo.dirty": { loop, muted: false } } };
  const entry = {
    id: `${id}:2`,
    event: "updated" as const,
    token: id,
    data: { loop, reason: "acknowledged" },
    at: Date.now(),
  };
  assert.ok(
    await store.commit(key, cur.version, JSON.stringify(state), {
      loopIds: [id],
      outbox: [entry],
      counts: [],
      wake: null,
    }),
  );
  await redis.quit();

  await h.detector(cfg);
  const updated = await waitFor("outbox drained on start", () => h.eventsFor(id)[1]);
  assert.equal(updated.msgId, `${id}:2`);
  assert.equal(updated.data.loop.status, "acknowledged");
  await h.settled();
  const jsm = await raw(h.scanner).manager();
  const info = await jsm.streams.info("MIRROR", { subjects_filter: `mirror.loop.>` });
  assert.deepEqual(
    info.state.subjects,
    { [`mirror.loop.opened.${id}`]: 1, [`mirror.loop.updated.${id}`]: 1 },
    "opened once, updated once",
  );
});

test("a repo that is gone closes its loops; an older snapshot after it reopens nothing", async () => {
  await h.detector("loops: { tick: 50ms, triage: false, rules: { repo.dirty: { after: 0s } } }");
  const path = "/r/vanishing";
  const id = dirtyId(path);
  const before = h.snapshot(path, { staged: 1 });
  await h.publish(before);
  await waitFor("opened", () => h.eventsFor(id)[0]);
  h.clock.advance(1_000);
  const { repoGone, repoKey } = await import("@mirror/contracts");
  const gone = { repoKey: repoKey(path), path, observedAt: new Date(h.clock.now()).toISOString(), seq: before.seq + 1 };
  await h.scanner.publish(repoGone, gone.repoKey, gone, { id: `gone:${gone.repoKey}:${gone.seq}` });
  const closed = await waitFor("closed", () => h.eventsFor(id)[1]);
  assert.equal(closed.data.loop.status, "closed");
  await h.publish(before);
  await h.settled();
  assert.equal(h.eventsFor(id).length, 2);
});

test("the loop-detector exports the streams' JetStream figures (no exporter, no monitoring port needed)", async () => {
  const d = await h.detector("loops: { tick: 50ms }");
  await h.publish(h.snapshot("/srv/repos/figures"));
  await h.settled();
  // Read when scraped (the gauge's collect), not on a timer: this get() is the scrape.
  const figure = async (stream: string) =>
    ((await d.ctx.registry.getSingleMetric("mirror_jetstream_stream_messages")?.get())?.values ?? []).find(
      (v) => v.labels.stream === stream,
    )?.value;
  assert.ok(((await figure("MIRROR")) ?? 0) >= 1, "MIRROR's stored messages are exported");
  assert.equal(typeof (await figure("MIRROR_DLQ")), "number", "the dead-letter stream's too");
});
