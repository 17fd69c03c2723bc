// Maintenance windows in the history, against a real redis-server with a manual clock: results
// inside a window count neither as uptime nor as downtime, a down period inside one is kept as a
// maintenance period (on the check's page, never on status pages or in counts), a window that
// begins or ends during an incident splits it, and the periods the loop-detector listed survive a restart.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { MaintenanceInfo } from "@mirror/contracts";
import { startRedis, type ServerHandle } from "@mirror/testkit";
import { coversCheck, MaintenanceWatch, mergeSpans, spansOf } from "../src/maintenance.js";
import { historyOn } from "./fixtures.js";

let redis: ServerHandle;
const opened: { store: { disconnect(): void } }[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const h of opened) h.store.disconnect();
  await redis?.dispose();
});

const S = 1_000;
const iso = (t: number) => new Date(t).toISOString();
const info = (w: Partial<MaintenanceInfo> & { name: string }): MaintenanceInfo => ({
  source: "runtime",
  match: { check: ["web"] },
  createdBy: null,
  active: false,
  activeUntil: null,
  ...w,
});

test("which windows cover a check's downtime: its name or none, no repo, no kind or a service.* kind", () => {
  assert.equal(coversCheck({ check: ["web"] }, "web"), true);
  assert.equal(coversCheck({ check: ["nas"] }, "web"), false);
  assert.equal(coversCheck({ kind: ["service.down"] }, "web"), true);
  assert.equal(coversCheck({ kind: ["repo.dirty"] }, "web"), false);
  assert.equal(coversCheck({ check: ["web"], repo: ["/r"] }, "web"), false);
});

test("periods from a listing: one-off windows ahead of time, a recurring one while on; ended early, it lasted until it was no longer listed", () => {
  const now = Date.parse("2026-03-10T12:00:00Z");
  const oneOff = info({ name: "backup", start: iso(now + 60 * S), end: iso(now + 120 * S) });
  const nightly = info({
    name: "nightly",
    source: "config",
    cron: "0 12 * * *",
    duration: 3_600_000,
    active: true,
    activeUntil: iso(now + 3_600_000),
  });
  const idle = info({ name: "weekly", cron: "0 2 * * 0", duration: 3_600_000 });
  const spans = spansOf([oneOff, nightly, idle], now);
  assert.deepEqual(
    spans.map((s) => [s.name, s.start - now, s.end - now]),
    [
      ["backup", 60 * S, 120 * S],
      ["nightly", 0, 3_600_000],
    ],
  );
  // Later both are gone from the listing: the one that had begun ends now, the one ahead never happened.
  const later = mergeSpans(spans, [], now + 30 * S);
  assert.deepEqual(
    later.map((s) => [s.name, s.start - now, s.end - now]),
    [["nightly", 0, 30 * S]],
  );
  // Listed again unchanged: replaced, not doubled.
  assert.equal(mergeSpans(spans, spans, now).length, 2);
  // Older than a week: forgotten.
  assert.deepEqual(mergeSpans(later, [], now + 8 * 86_400_000), []);
});

test("inside a window: no downtime in uptime, the day marked, the down period kept as maintenance and off status pages; the window's end splits an incident", async () => {
  let window: [number, number] = [0, 0];
  const h = historyOn(redis.url, {
    maintenance: (check, t) => (check === "web" && t >= window[0] && t < window[1] ? "backup" : undefined),
  });
  opened.push(h);
  const t0 = h.clock.now();
  window = [t0 + 10 * S, t0 + 20 * S];
  const step = async (state: "up" | "down", sinceMs?: number) => {
    const r = h.observe("web", state, { sinceMs, latencyMs: state === "up" ? 30 : null });
    assert.equal(await h.recorder.record(r.status, r.id), "recorded");
    h.clock.advance(S);
  };
  for (let i = 0; i < 10; i++) await step("up", t0);
  const downAt = h.clock.now();
  for (let i = 0; i < 10; i++) await step("down", downAt);
  // Inside the window: the check is marked maintenance, nothing counts against it yet.
  let s = await h.queries.summary("web", 2);
  assert.equal(s.maintenance, true);
  assert.equal(s.uptime["24h"], 1);
  assert.deepEqual(s.incidents, []);
  assert.equal(s.incidentCount, 0);
  // The window ends while the check is still down: from here it is a real incident.
  const realAt = h.clock.now();
  for (let i = 0; i < 3; i++) await step("down", downAt);
  const upAt = h.clock.now();
  await step("up", upAt);

  s = await h.queries.summary("web", 2);
  assert.equal(s.maintenance, false);
  assert.equal(s.uptime["24h"], 11 / 14, "10 maintenance results are not counted: 11 up of 14");
  assert.deepEqual(s.days.at(-1), { date: "2026-03-10", uptime: 11 / 14, maintenance: true });
  assert.deepEqual(s.days.at(-2), { date: "2026-03-09", uptime: null, maintenance: false });
  assert.deepEqual(s.incidents, [{ start: iso(realAt), end: iso(upAt), durationMs: 3 * S }]);
  assert.equal(s.incidentCount, 1);

  const c = await h.queries.check("web", "24h");
  assert.deepEqual(
    c.incidents.map((i) => [i.start, i.end, i.durationMs, i.maintenance]),
    [
      [iso(realAt), iso(upAt), 3 * S, false],
      [iso(downAt), iso(realAt), 10 * S, true],
    ],
  );
  assert.equal(
    c.series.reduce((n, p) => n + p.n, 0),
    11,
    "response times still count every timed result",
  );
});

test("a check down and back inside a window: no incident, uptime untouched; a window beginning during an incident ends that incident", async () => {
  let window: [number, number] = [0, 0];
  const h = historyOn(redis.url, {
    maintenance: (_check, t) => (t >= window[0] && t < window[1] ? "patch" : undefined),
  });
  opened.push(h);
  const t0 = h.clock.now();
  window = [t0 + 5 * S, t0 + 15 * S];
  const step = async (state: "up" | "down", sinceMs: number) => {
    const r = h.observe("db", state, { sinceMs });
    await h.recorder.record(r.status, r.id);
    h.clock.advance(S);
  };
  // Down from t0 (a real incident), the window begins at t0+5 s, back up at t0+8 s, up to the end.
  for (let i = 0; i < 8; i++) await step("down", t0);
  for (let i = 0; i < 10; i++) await step("up", t0 + 8 * S);
  const s = await h.queries.summary("db", 1);
  assert.deepEqual(
    s.incidents,
    [{ start: iso(t0), end: iso(t0 + 5 * S), durationMs: 5 * S }],
    "the real part ends where the window begins",
  );
  assert.equal(s.uptime["24h"], 3 / 8, "outside the window: 5 down, 3 up");
  const c = await h.queries.check("db", "24h");
  assert.deepEqual(
    c.incidents.map((i) => [i.durationMs, i.maintenance]),
    [
      [3 * S, true],
      [5 * S, false],
    ],
  );

  // Down and up again wholly inside a new window: no new incident, uptime unchanged.
  window = [h.clock.now(), h.clock.now() + 60 * S];
  const mark = h.clock.now();
  await step("up", mark);
  await step("down", mark + S);
  await step("up", mark + 2 * S);
  const again = await h.queries.summary("db", 1);
  assert.equal(again.incidentCount, 1);
  assert.equal(again.uptime["24h"], 3 / 8);
});

test("the watch keeps the periods the loop-detector listed, in Redis: a restarted history still marks a replayed result", async () => {
  const h = historyOn(redis.url);
  opened.push(h);
  const now = h.clock.now();
  let listing: MaintenanceInfo[] = [
    info({
      name: "swap",
      start: iso(now - 10 * S),
      end: iso(now + 3_600_000),
      active: true,
      activeUntil: iso(now + 3_600_000),
    }),
  ];
  let failing = false;
  const watch = new MaintenanceWatch({
    store: h.store,
    clock: h.clock,
    list: async () => {
      if (failing) throw new Error("no responders");
      return listing;
    },
  });
  await watch.poll();
  assert.equal(watch.covering("web", now), "swap");
  assert.equal(watch.covering("nas", now), undefined);
  // Ended early, 30 s later: the period ends there.
  h.clock.advance(30 * S);
  listing = [];
  await watch.poll();
  assert.equal(watch.covering("web", now + 29 * S), "swap");
  assert.equal(watch.covering("web", now + 30 * S), undefined);
  // The loop-detector does not answer: what was known stays.
  failing = true;
  await watch.poll();
  assert.equal(watch.covering("web", now), "swap");
  // A new watch (the history restarted) loads the same periods before it records anything.
  const restarted = new MaintenanceWatch({ store: h.store, clock: h.clock, list: async () => [] });
  await restarted.load();
  assert.deepEqual(restarted.periods, watch.periods);
  assert.equal(restarted.covering("web", now + 5 * S), "swap");
});

test("a poll asks after it was called: callers during a running listing share the one that follows it", async () => {
  const h = historyOn(redis.url);
  opened.push(h);
  const now = h.clock.now();
  let calls = 0;
  let listing: MaintenanceInfo[] = [];
  let release: () => void = () => undefined;
  const watch = new MaintenanceWatch({
    store: h.store,
    clock: h.clock,
    list: async () => {
      calls++;
      const answer = listing;
      if (calls === 1) await new Promise<void>((r) => (release = r));
      return answer;
    },
  });
  const first = watch.poll();
  await new Promise((r) => setImmediate(r));
  // A window is added while the first listing is on its way: later polls must see it.
  listing = [
    info({ name: "late", start: iso(now - S), end: iso(now + 60 * S), active: true, activeUntil: iso(now + 60 * S) }),
  ];
  const second = watch.poll();
  const third = watch.poll();
  assert.equal(second, third, "one follow-up for both");
  release();
  await Promise.all([first, second, third]);
  assert.equal(calls, 2);
  assert.equal(watch.covering("web", now), "late");
});

test("fresh() asks only when the last listing is older than its age, and does not wait on a loop-detector that did not answer", async () => {
  const h = historyOn(redis.url);
  opened.push(h);
  const now = h.clock.now();
  let calls = 0;
  let fail = false;
  const watch = new MaintenanceWatch({
    store: h.store,
    clock: h.clock,
    list: async () => {
      calls++;
      if (fail) throw new Error("no responders");
      return [info({ name: "w", start: iso(now - S), end: iso(now + 60 * S), active: true })];
    },
  });
  await watch.fresh(60_000);
  assert.equal(calls, 1, "the first result asks");
  assert.equal(watch.covering("web", now), "w", "and is judged by the answer");
  await watch.fresh(60_000);
  assert.equal(calls, 1, "a listing younger than the age is used as it is");
  fail = true;
  await watch.fresh(0);
  assert.equal(calls, 2, "an older one is asked again");
  // The loop-detector did not answer: the next result does not wait for the ask it starts.
  let asks = 0;
  let release: () => void = () => undefined;
  const slow = new MaintenanceWatch({
    store: h.store,
    clock: h.clock,
    list: async () => {
      if (++asks === 1) throw new Error("timeout");
      // The second ask hangs (a loop-detector still away) until released.
      await new Promise<void>((r) => (release = r));
      return [];
    },
  });
  await slow.fresh(0);
  let settled = false;
  const next = slow.fresh(0).then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(asks, 2, "asked again");
  assert.ok(settled, "but not waited for");
  release();
  await next;
  await new Promise((r) => setImmediate(r)); // the released ask's answer is taken in
  // It answered: the next stale result waits for its ask again.
  let waited = true;
  const third = slow.fresh(0).then(() => (waited = false));
  await new Promise((r) => setImmediate(r));
  assert.equal(asks, 3);
  assert.ok(waited, "waits while the ask is on its way");
  release();
  await third;
  assert.equal(watch.covering("web", now), "w", "what was known is kept");
});
