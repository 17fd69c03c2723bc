// The maintenance trend from loop events (each revision counts once, open counts carry over quiet
// days) and the storage bound of one check filled for a whole year, against a real redis-server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ServiceStatus } from "@mirror/contracts";
import { startRedis, type ServerHandle } from "@mirror/testkit";
import { historyOn, loopOf } from "./fixtures.js";

let redis: ServerHandle;
const opened: { store: { disconnect(): void } }[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const h of opened) h.store.disconnect();
  await redis?.dispose();
});

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();

test("trend: opened, closed, open by kind and severity per day, mean time to acknowledge and to close; redeliveries count once", async () => {
  const h = historyOn(redis.url, { start: "2026-04-01T10:00:00Z" });
  opened.push(h);
  const t0 = h.clock.now();
  const a1 = loopOf("a", "repo.dirty", "open", 1, { openedAt: iso(t0), at: iso(t0), severity: "low" });
  const b1 = loopOf("b", "service.down", "open", 1, {
    openedAt: iso(t0),
    at: iso(t0),
    severity: "high",
    service: "web",
  });
  for (const l of [a1, b1, a1, b1]) await h.trend.record({ loop: l, reason: "x" });
  h.clock.advance(DAY);
  const t1 = h.clock.now();
  const a2 = loopOf("a", "repo.dirty", "acknowledged", 2, { openedAt: iso(t0), at: iso(t1), severity: "low" });
  const b2 = loopOf("b", "service.down", "closed", 2, {
    openedAt: iso(t0),
    at: iso(t1 + 3_600_000),
    severity: "high",
    service: "web",
  });
  for (const l of [a2, b2, b2]) await h.trend.record({ loop: l, reason: "x" });
  // An older revision arriving late changes nothing.
  await h.trend.record({ loop: a1, reason: "late" });
  h.clock.advance(2 * DAY);
  const days = await h.queries.trend(4);
  assert.deepEqual(
    days.map((d) => d.date),
    ["2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04"],
  );
  const [d0, d1, d2, d3] = days;
  assert.deepEqual(d0?.opened, { "repo.dirty": 1, "service.down": 1 });
  assert.deepEqual(d0?.open, { "repo.dirty": { low: 1 }, "service.down": { high: 1 } });
  assert.equal(d0?.openTotal, 2);
  assert.deepEqual(d1?.opened, {});
  assert.deepEqual(d1?.closed, { "service.down": 1 });
  assert.deepEqual(d1?.meanAckMs, { "repo.dirty": DAY });
  assert.deepEqual(d1?.meanCloseMs, { "service.down": DAY + 3_600_000 });
  assert.deepEqual(d1?.open, { "repo.dirty": { low: 1 } });
  assert.deepEqual(
    d2?.open,
    { "repo.dirty": { low: 1 } },
    "a day without events keeps the open loops of the day before",
  );
  assert.equal(d3?.openTotal, 1);
});

test("a repository's signals: how long each repo loop kind was true in the last 90 days, open ones counting up to now", async () => {
  const h = historyOn(redis.url, { start: "2026-04-01T00:00:00Z" });
  opened.push(h);
  const t0 = h.clock.now();
  const dirty = (status: "open" | "closed", rev: number, at: number) =>
    loopOf("d1", "repo.dirty", status, rev, { openedAt: iso(t0), at: iso(at) });
  // Dirty for 2 days, clean for a day, dirty again (a new loop) still open a day later.
  const record = async (loop: ReturnType<typeof loopOf>, reason = "x") => {
    h.clock.set(Date.parse(loop.updatedAt));
    await h.trend.record({ loop: { ...loop, entity: { type: "repo", repo: "/r/site" } }, reason });
  };
  await record(dirty("open", 1, t0));
  await record(dirty("closed", 2, t0 + 2 * DAY));
  await record(dirty("closed", 2, t0 + 2 * DAY), "redelivered");
  await record(loopOf("d2", "repo.dirty", "open", 1, { openedAt: iso(t0 + 3 * DAY), at: iso(t0 + 3 * DAY) }));
  h.clock.set(t0);
  h.clock.advance(4 * DAY);
  const r = await h.queries.repo("/r/site", 90);
  assert.deepEqual(
    r.signals.map((s) => [s.kind, s.open, s.trueMs, s.since]),
    [["repo.dirty", true, 3 * DAY, iso(t0 + 3 * DAY)]],
  );
  assert.equal(r.signals[0]?.ratio, 3 / 90);
  assert.deepEqual(
    r.signals[0]?.periods,
    [
      { start: iso(t0), end: iso(t0 + 2 * DAY) },
      { start: iso(t0 + 3 * DAY), end: null },
    ],
    "when it was true",
  );
  assert.deepEqual((await h.queries.repo("/r/other", 90)).signals, []);
  h.clock.advance(100 * DAY);
  const later = (await h.queries.repo("/r/site", 90)).signals[0];
  assert.equal(later?.trueMs, 90 * DAY, "still open: the whole window, no more");
  assert.deepEqual(
    later?.periods,
    [{ start: iso(h.clock.now() - 90 * DAY), end: null }],
    "periods clipped to the window",
  );
});

test("a service loop names the incident it reported", async () => {
  const h = historyOn(redis.url);
  opened.push(h);
  const down = h.observe("web", "down");
  await h.recorder.record(down.status, down.id);
  await h.trend.record({
    loop: loopOf("L1", "service.down", "open", 1, {
      openedAt: iso(h.clock.now()),
      at: iso(h.clock.now()),
      service: "web",
    }),
    reason: "x",
  });
  h.clock.advance(5_000);
  const up = h.observe("web", "up");
  await h.recorder.record(up.status, up.id);
  const [inc] = (await h.queries.check("web", "24h")).incidents;
  assert.equal(inc?.loopId, "L1");
  assert.equal(inc?.durationMs, 5_000);
});

test("one check filled for a whole year (every bucket, both incident caps, slow answers) stays under 2 MB in Redis", async () => {
  const first = Date.parse("2026-01-01T00:00:00Z");
  // The first half of the year inside a maintenance window: both incident sets fill to their cap.
  const h = historyOn(redis.url, {
    start: "2026-01-01T00:00:00Z",
    maintenance: (_check, t) => (t < first + 183 * DAY ? "all-spring" : undefined),
  });
  opened.push(h);
  const start = h.clock.now();
  const events: [ServiceStatus, string][] = [];
  let seq = 0;
  const at = (t: number, state: ServiceStatus["state"]) => {
    h.clock.set(t);
    const r = h.observe("full", state, {
      latencyMs: 100 + ((seq * 7919) % 9_900) + 0.7,
      sinceMs: t,
      reason: state === "up" ? null : `error ${"x".repeat(180)}`,
    });
    events.push([{ ...r.status, seq: ++seq }, `status:full:${seq}`]);
  };
  // Hourly for a year (alternating up and down: thousands of incidents), then every minute for the last 48 hours.
  for (let t = start; t < start + 366 * DAY; t += 3_600_000) at(t, seq % 2 ? "up" : "down");
  const end = start + 366 * DAY;
  for (let t = end; t < end + 2 * DAY; t += 60_000) at(t, "up");
  for (let i = 0; i < events.length; i += 1_000)
    await Promise.all(events.slice(i, i + 1_000).map(([s, id]) => h.recorder.record(s, id)));
  const keys = ["m", "h", "d", "inc", "minc", "meta", "ids"].map((k) => `c:full:${k}`);
  const sizes = await Promise.all(keys.map((k) => h.store.memory("USAGE", k, "SAMPLES", 0) as Promise<number>));
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.equal(await h.store.hlen("c:full:m"), 2_880);
  assert.equal(await h.store.hlen("c:full:h"), 2_160);
  assert.equal(await h.store.hlen("c:full:d"), 366);
  assert.equal(await h.store.zcard("c:full:inc"), 1_000);
  assert.equal(await h.store.zcard("c:full:minc"), 1_000);
  assert.ok(total < 2 * 1024 * 1024, `${total} bytes: ${keys.map((k, i) => `${k}=${sizes[i]}`).join(" ")}`);
  console.log(`storage of one full check: ${total} bytes (${keys.map((k, i) => `${k}=${sizes[i]}`).join(" ")})`);
});

test("trend: open counts follow a severity change and a close, and a store without the counts gets them from the open set once", async () => {
  const h = historyOn(redis.url, { start: "2026-05-01T10:00:00Z" });
  opened.push(h);
  const t0 = h.clock.now();
  const at = (rev: number) => iso(t0 + rev * 1_000);
  await h.trend.record({
    loop: loopOf("c", "repo.dirty", "open", 1, { openedAt: iso(t0), at: at(1), severity: "low" }),
    reason: "x",
  });
  await h.trend.record({
    loop: loopOf("d", "repo.dirty", "open", 1, { openedAt: iso(t0), at: at(1), severity: "low" }),
    reason: "x",
  });
  await h.trend.record({
    loop: loopOf("c", "repo.dirty", "open", 2, { openedAt: iso(t0), at: at(2), severity: "high" }),
    reason: "x",
  });
  let [d] = await h.queries.trend(1);
  assert.deepEqual(d?.open, { "repo.dirty": { low: 1, high: 1 } });
  // As a store written before the counts were kept: only the open set and the loop records.
  await h.store.del("loops:open:counts");
  await h.trend.record({
    loop: loopOf("d", "repo.dirty", "closed", 2, { openedAt: iso(t0), at: at(3), severity: "low" }),
    reason: "x",
  });
  [d] = await h.queries.trend(1);
  assert.deepEqual(d?.open, { "repo.dirty": { high: 1 } });
});
