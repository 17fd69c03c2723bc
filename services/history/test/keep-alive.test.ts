// The tracker publishes a check's status when it changes and otherwise as a keep-alive every few
// minutes: history counts the probe results it did not publish, one per interval, in the state
// they had, so uptime is the same as when every result was published.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startRedis, type ServerHandle } from "@mirror/testkit";
import { historyOn } from "./fixtures.js";

let redis: ServerHandle;
const opened: { store: { disconnect(): void } }[] = [];
const S = 1_000;
const MIN = 60 * S;
/** A 30 s check whose keep-alive is 5 minutes. */
const beat = (check: string) => (check === "web" ? { interval: 30 * S, maxGap: 5 * MIN + 60 * S } : undefined);
const make = (opts: Parameters<typeof historyOn>[1] = {}) => {
  const h = historyOn(redis.url, { beat, ...opts });
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

test("results published on change and every 5 minutes count like one result per 30 s probe", async () => {
  // What the tracker publishes for 20 minutes of a 30 s check: up (first result), keep-alives at
  // 5 and 10 min, down from 12:00 (published at once), up again from 14:00, a keep-alive at 19:00.
  const published = make();
  const every = make();
  const t0 = published.clock.now();
  const stateAt = (ms: number) => (ms >= 12 * MIN && ms < 14 * MIN ? "down" : "up");
  const sinceAt = (ms: number) => (ms < 12 * MIN ? 0 : ms < 14 * MIN ? 12 * MIN : 14 * MIN);
  const sends = new Set([0, 5 * MIN, 10 * MIN, 12 * MIN, 14 * MIN, 19 * MIN]);
  for (let ms = 0; ms <= 19 * MIN; ms += 30 * S) {
    for (const h of [published, every]) {
      if (h === published && !sends.has(ms)) continue;
      h.clock.set(t0 + ms);
      const r = h.observe("web", stateAt(ms), { sinceMs: t0 + sinceAt(ms) });
      assert.equal(await h.recorder.record(r.status, r.id), "recorded");
    }
  }
  const a = await published.queries.check("web", "24h");
  const b = await every.queries.check("web", "24h");
  // 39 probes, 4 of them down.
  assert.equal(b.uptime["24h"], 35 / 39);
  assert.equal(a.uptime["24h"], b.uptime["24h"]);
  assert.equal(a.uptime["365d"], b.uptime["365d"]);
  assert.deepEqual(
    a.incidents.map((i) => [i.start, i.end]),
    b.incidents.map((i) => [i.start, i.end]),
  );
  // The same results in each minute; response times only where a result carried one.
  assert.deepEqual(
    a.series.map((p) => p.t),
    b.series.filter((p) => a.series.some((q) => q.t === p.t)).map((p) => p.t),
  );
});

test("a gap longer than the keep-alive (the tracker away) counts nothing; an unknown check only its results", async () => {
  const h = make();
  const t0 = h.clock.now();
  let r = h.observe("web", "up", { sinceMs: t0 });
  await h.recorder.record(r.status, r.id);
  h.clock.advance(60 * MIN);
  r = h.observe("web", "down", { sinceMs: h.clock.now() });
  await h.recorder.record(r.status, r.id);
  assert.equal((await h.queries.check("web", "24h")).uptime["24h"], 1 / 2);
  const other = make();
  r = other.observe("api", "up");
  await other.recorder.record(r.status, r.id);
  other.clock.advance(5 * MIN);
  r = other.observe("api", "down", { sinceMs: other.clock.now() });
  await other.recorder.record(r.status, r.id);
  assert.equal((await other.queries.check("api", "24h")).uptime["24h"], 1 / 2);
});

test("the counted results fall on their own days across local midnight (Europe/Berlin), in the state they had", async () => {
  // 23:58 local, up; 00:03 local, down since 00:00:45: 4 up on the 10th (23:58 and
  // three counted at 23:58:30-23:59:30), 2 up and 5 down on the 11th (00:00 and 00:00:30 up, 00:01-00:02:30 and 00:03 down).
  const h = make({ timeZone: "Europe/Berlin", start: "2026-03-10T22:58:00Z" });
  let r = h.observe("web", "up");
  await h.recorder.record(r.status, r.id);
  h.clock.advance(5 * MIN);
  r = h.observe("web", "down", { sinceMs: Date.parse("2026-03-10T23:00:45Z") });
  await h.recorder.record(r.status, r.id);
  const days = (await h.queries.summary("web", 2)).days;
  assert.deepEqual(
    days.map((d) => [d.date, d.uptime]),
    [
      ["2026-03-10", 1],
      ["2026-03-11", 2 / 7],
    ],
  );
});
