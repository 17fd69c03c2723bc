// Recording and reading history against a real redis-server, with a manual clock: bucketing,
// uptime windows, incidents, redeliveries, clock jumps, day boundaries and DST, retention.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startRedis, type ServerHandle } from "@mirror/testkit";
import { historyOn } from "./fixtures.js";

let redis: ServerHandle;
const opened: { store: { disconnect(): void } }[] = [];
const make = (opts: Parameters<typeof historyOn>[1] = {}) => {
  const h = historyOn(redis.url, opts);
  opened.push(h);
  return h;
};
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const h of opened) h.store.disconnect();
  await redis?.dispose();
});

const MIN = 60_000;
const HOUR = 3_600_000;

test("uptime is the share of up results; an incident spans the down period with its first error", async () => {
  const h = make();
  const t0 = h.clock.now();
  for (let i = 0; i < 10; i++) {
    const r = h.observe("web", "up", { latencyMs: 10 + i });
    assert.equal(await h.recorder.record(r.status, r.id), "recorded");
    h.clock.advance(1_000);
  }
  const downAt = h.clock.now();
  for (let i = 0; i < 10; i++) {
    const r = h.observe("web", "down", {
      sinceMs: downAt,
      latencyMs: null,
      reason: i === 0 ? "connect ECONNREFUSED" : "timeout",
    });
    await h.recorder.record(r.status, r.id);
    h.clock.advance(1_000);
  }
  const upAt = h.clock.now();
  const r = h.observe("web", "up", { sinceMs: upAt });
  await h.recorder.record(r.status, r.id);
  const reply = await h.queries.check("web", "24h");
  assert.equal(reply.known, true);
  assert.equal(reply.state, "up");
  assert.equal(reply.uptime["24h"], 11 / 21);
  assert.equal(reply.uptime["365d"], 11 / 21);
  assert.equal(reply.incidents.length, 1);
  const inc = reply.incidents[0];
  assert.equal(inc?.start, new Date(downAt).toISOString());
  assert.equal(inc?.end, new Date(upAt).toISOString());
  assert.equal(inc?.durationMs, 10_000);
  assert.equal(inc?.firstError, "connect ECONNREFUSED");
  assert.equal(inc?.state, "down");
  // The 10 up results before the incident fall in one minute: one point, min/avg/max of 10..19 and 20.
  const points = reply.series;
  assert.ok(points.length >= 1 && points.length <= 2, JSON.stringify(points));
  assert.equal(points[0]?.t, new Date(Math.floor(t0 / MIN) * MIN).toISOString());
  assert.equal(Math.min(...points.map((p) => p.min)), 10);
  assert.equal(Math.max(...points.map((p) => p.max)), 20);
  assert.ok(points.every((p) => p.p95 >= p.avg && p.p95 <= p.max));
});

test("a redelivered result counts once; a late result never overwrites newer buckets", async () => {
  const h = make();
  const first = h.observe("api", "up");
  assert.equal(await h.recorder.record(first.status, first.id), "recorded");
  assert.equal(await h.recorder.record(first.status, first.id), "duplicate");
  h.clock.advance(49 * HOUR);
  const now = h.observe("api", "down");
  await h.recorder.record(now.status, now.id);
  // A result from 49h ago falls in the same minute slot as now: it must not reset it.
  const late = h.observe("api", "up", { observedAt: first.status.observedAt, seq: 999 });
  await h.recorder.record({ ...late.status, observedAt: first.status.observedAt }, "status:api:999");
  const reply = await h.queries.check("api", "24h");
  assert.equal(reply.uptime["24h"], 0, "only the down result is in the last 24h");
  assert.equal(reply.uptime["7d"], 2 / 3);
});

test("a clock jumping backwards gives no negative duration and no double count", async () => {
  const h = make();
  const r1 = h.observe("db", "down");
  await h.recorder.record(r1.status, r1.id);
  h.clock.advance(-HOUR);
  const r2 = h.observe("db", "up");
  await h.recorder.record(r2.status, r2.id);
  await h.recorder.record(r2.status, r2.id);
  // Once the clock is past both again, each counts once.
  h.clock.advance(2 * HOUR);
  const reply = await h.queries.check("db", "24h");
  assert.equal(reply.incidents.length, 1);
  assert.equal(reply.incidents[0]?.durationMs, 0);
  assert.equal(reply.uptime["24h"], 1 / 2);
  // An incident still open while the clock is behind its start: duration 0, not negative.
  const r3 = h.observe("db", "down");
  h.clock.advance(2 * HOUR);
  await h.recorder.record(r3.status, r3.id);
  h.clock.advance(-3 * HOUR);
  const open = await h.queries.check("db", "24h");
  assert.ok(open.incidents.every((i) => i.durationMs >= 0));
});

test("uptime windows: a result 2 days old is out of 24h and in 7d; 40 days old only in 90d and 365d", async () => {
  const h = make();
  const r1 = h.observe("svc", "down");
  await h.recorder.record(r1.status, r1.id);
  h.clock.advance(38 * 24 * HOUR);
  const r2 = h.observe("svc", "up");
  await h.recorder.record(r2.status, r2.id);
  h.clock.advance(2 * 24 * HOUR);
  const r3 = h.observe("svc", "up");
  await h.recorder.record(r3.status, r3.id);
  const u = await h.queries.uptimeFigures("svc");
  assert.deepEqual(u, { "24h": 1, "7d": 1, "30d": 1, "90d": 2 / 3, "365d": 2 / 3 });
  assert.deepEqual(await h.queries.uptimeMany(["none", "svc"], "90d"), [null, 2 / 3], "many at once: the same figure");
  assert.deepEqual(await h.queries.uptimeMany(["svc"], "24h"), [1]);
  h.clock.advance(400 * 24 * HOUR);
  assert.deepEqual(
    await h.queries.uptimeFigures("svc"),
    { "24h": null, "7d": null, "30d": null, "90d": null, "365d": null },
    "a year later nothing is left in any window",
  );
});

test("day bars follow the configured time zone's calendar across DST (Europe/Berlin, 29 March 2026 has 23 hours)", async () => {
  const h = make({ timeZone: "Europe/Berlin", start: "2026-03-28T22:30:00Z" });
  // 23:30 CET on the 28th, 00:30 CET on the 29th, 23:30 CEST on the 29th, 00:30 CEST on the 30th.
  const at = ["2026-03-28T22:30:00Z", "2026-03-28T23:30:00Z", "2026-03-29T21:30:00Z", "2026-03-29T22:30:00Z"];
  const states = ["up", "down", "down", "up"] as const;
  for (let i = 0; i < at.length; i++) {
    h.clock.set(Date.parse(at[i] as string));
    const r = h.observe("nas", states[i] as "up");
    await h.recorder.record(r.status, r.id);
  }
  const s = await h.queries.summary("nas", 3);
  assert.deepEqual(s.days, [
    { date: "2026-03-28", uptime: 1, maintenance: false },
    { date: "2026-03-29", uptime: 0, maintenance: false },
    { date: "2026-03-30", uptime: 1, maintenance: false },
  ]);
  assert.equal(s.incidentCount, 1);
  assert.equal(s.incidents[0]?.durationMs, 23 * HOUR, "the incident lasted the whole 23-hour day");
});

test("UTC day boundary: results either side of midnight fall on their own days", async () => {
  const h = make({ start: "2026-05-01T23:59:59Z" });
  const a = h.observe("x", "down");
  await h.recorder.record(a.status, a.id);
  h.clock.advance(2_000);
  const b = h.observe("x", "up");
  await h.recorder.record(b.status, b.id);
  const s = await h.queries.summary("x", 2);
  assert.deepEqual(s.days, [
    { date: "2026-05-01", uptime: 0, maintenance: false },
    { date: "2026-05-02", uptime: 1, maintenance: false },
  ]);
});

test("incidents are kept a year: an old one leaves when a new one closes", async () => {
  const h = make();
  const down = h.observe("old", "down");
  await h.recorder.record(down.status, down.id);
  h.clock.advance(MIN);
  const up = h.observe("old", "up");
  await h.recorder.record(up.status, up.id);
  h.clock.advance(366 * 24 * HOUR);
  assert.equal((await h.queries.summary("old", 1)).incidentCount, 0, "out of the 365-day count");
  const d2 = h.observe("old", "down");
  await h.recorder.record(d2.status, d2.id);
  h.clock.advance(MIN);
  const u2 = h.observe("old", "up");
  await h.recorder.record(u2.status, u2.id);
  assert.equal(await h.store.zcard("c:old:inc"), 1, "the year-old incident was trimmed");
});

test("a check no longer configured keeps its history, marked removed; an unknown one is not known", async () => {
  const h = make({ configured: ["kept"] });
  for (const name of ["kept", "gone"]) {
    const r = h.observe(name, "up");
    await h.recorder.record(r.status, r.id);
  }
  assert.equal((await h.queries.check("kept", "7d")).removed, false);
  const gone = await h.queries.check("gone", "7d");
  assert.equal(gone.removed, true);
  assert.equal(gone.uptime["24h"], 1);
  const unknown = await h.queries.check("never", "24h");
  assert.equal(unknown.known, false);
  assert.deepEqual(unknown.series, []);
});

test("Redis unavailable: results wait in memory up to the bound, the rest are counted as dropped, and the held ones are written later", async () => {
  const h = make({ bufferLimit: 3 });
  const r0 = h.observe("buf", "up");
  await h.recorder.record(r0.status, r0.id);
  await redis.stop();
  await waitForStatus(h.store, (s) => s !== "ready");
  const outcomes = [];
  for (let i = 0; i < 5; i++) {
    h.clock.advance(1_000);
    const r = h.observe("buf", i % 2 ? "up" : "down");
    outcomes.push(await h.recorder.record(r.status, r.id));
  }
  assert.deepEqual(outcomes, ["buffered", "buffered", "buffered", "dropped", "dropped"]);
  assert.equal(h.recorder.dropped, 2);
  await redis.restart();
  await waitForStatus(h.store, (s) => s === "ready");
  await h.recorder.flush();
  assert.equal(h.recorder.buffered, 0);
  // The test's redis-server keeps nothing across a restart (no AOF): what is there is what was held, down, up, down.
  assert.equal((await h.queries.check("buf", "24h")).uptime["24h"], 1 / 3);
});

async function waitForStatus(store: { status: string }, ok: (s: string) => boolean): Promise<void> {
  const { waitFor } = await import("@mirror/testkit");
  await waitFor("store status", () => ok(store.status) || undefined, { timeout: 15_000 });
}

test("a result delivered late (older in the stream and in time, as after a restart) counts in uptime but reopens no incident", async () => {
  const h = make();
  const downAt = h.clock.now();
  const down1 = h.observe("late", "down", { sinceMs: downAt });
  h.clock.advance(1_000);
  const down2 = h.observe("late", "down", { sinceMs: downAt });
  h.clock.advance(1_000);
  const up = h.observe("late", "up");
  await h.recorder.record(down1.status, down1.id, 10);
  await h.recorder.record(up.status, up.id, 12);
  // The second down result was in flight when the history stopped: JetStream delivers it after the up one.
  await h.recorder.record(down2.status, down2.id, 11);
  const reply = await h.queries.check("late", "24h");
  assert.equal(reply.uptime["24h"], 1 / 3);
  assert.deepEqual(
    reply.incidents.map((i) => [i.start, i.end, i.durationMs]),
    [[new Date(downAt).toISOString(), new Date(downAt + 2_000).toISOString(), 2_000]],
  );
  assert.equal(reply.state, "up");
  // A producer clock jumping back is not late: its place in the stream is newer.
  h.clock.advance(-60_000);
  const back = h.observe("late", "down");
  await h.recorder.record(back.status, back.id, 13);
  assert.equal((await h.queries.check("late", "24h")).incidents.length, 2);
});
