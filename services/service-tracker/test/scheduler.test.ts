import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "@mirror/kit";
import fc from "fast-check";
import { slackOf } from "../src/active.js";
import { decodeHeartbeat } from "../src/heartbeat/ingest.js";
import { Scheduler } from "../src/scheduler.js";

test("jobs run in due order, never more than `concurrency` at once, and reschedule as they ask", async () => {
  const clock = new ManualClock(0);
  const s = new Scheduler(clock, { concurrency: 3, onError: (id, err) => assert.fail(`${id}: ${err}`) });
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const gates: (() => void)[] = [];
  for (let i = 0; i < 10; i++) {
    s.add(`j${i}`, 100 - i, async () => {
      order.push(`j${i}`);
      peak = Math.max(peak, ++running);
      await new Promise<void>((r) => gates.push(r));
      running--;
      return null;
    });
  }
  s.pump();
  assert.equal(order.length, 0, "nothing is due before its time");
  clock.advance(100);
  s.pump();
  assert.deepEqual(order, ["j9", "j8", "j7"]);
  while (order.length < 10 || gates.length) {
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(order, ["j9", "j8", "j7", "j6", "j5", "j4", "j3", "j2", "j1", "j0"]);
  assert.equal(peak, 3);
  s.stop();
});

test("a reschedule replaces the planned run, and a throwing job is reported, not fatal", () => {
  const clock = new ManualClock(0);
  const errors: string[] = [];
  const s = new Scheduler(clock, { concurrency: 10, onError: (id) => errors.push(id) });
  const runs: number[] = [];
  s.add("hb", 1_000, () => {
    runs.push(clock.now());
    return clock.now() + 1_000;
  });
  s.add("bad", 0, () => {
    throw new Error("boom");
  });
  s.pump();
  assert.deepEqual(errors, ["bad"]);
  s.reschedule("hb", 500);
  clock.advance(500);
  s.pump();
  clock.advance(500);
  s.pump();
  assert.deepEqual(runs, [500], "the old 1000 entry is stale after the reschedule");
  clock.advance(500);
  s.pump();
  assert.deepEqual(runs, [500, 1500]);
  s.stop();
});

test("a wake-up starts every job within its slack together; slack 0 jobs and finishing jobs never start anything early", async () => {
  const clock = new ManualClock(0);
  const lags: number[] = [];
  const s = new Scheduler(clock, {
    concurrency: 10,
    onError: (id, err) => assert.fail(`${id}: ${err}`),
    onLag: (ms) => lags.push(ms),
  });
  const runs: [string, number][] = [];
  let release: (() => void) | undefined;
  const job =
    (id: string, gate = false) =>
    async () => {
      runs.push([id, clock.now()]);
      if (gate) await new Promise<void>((r) => (release = r));
      return null;
    };
  s.add("a", 1_000, job("a", true), { slack: 100 });
  s.add("b", 1_050, job("b"), { slack: 100 });
  s.add("c", 1_150, job("c"), { slack: 100 });
  s.add("hb", 1_020, job("hb")); // a deadline: no slack
  clock.advance(899);
  s.pump();
  assert.deepEqual(runs, [], "nothing starts before its due time minus its slack");
  clock.advance(101); // the timer wakes at the most urgent due time
  s.pump();
  assert.deepEqual(
    runs,
    [
      ["a", 1_000],
      ["b", 1_000],
    ],
    "b shares a's wake-up, 50 ms early; c (1150) is beyond its slack",
  );
  clock.advance(15);
  release?.();
  await new Promise((r) => setImmediate(r));
  assert.equal(runs.length, 2, "a finishing job starts only what is due, not what is merely within its slack");
  clock.advance(5);
  s.pump();
  assert.deepEqual(runs.slice(2), [["hb", 1_020]], "a slack-0 job runs exactly at its due time");
  clock.advance(130);
  s.pump();
  assert.deepEqual(runs.slice(3), [["c", 1_150]]);
  assert.deepEqual(lags, [0, 0, 0, 0], "an early start is no lag");
  s.stop();
});

test("a check's slack is tracker.coalesce, at most a tenth of its interval, and 0s turns coalescing off", () => {
  assert.equal(slackOf(10_000, 1_000), 1_000);
  assert.equal(slackOf(30_000, 1_000), 1_000);
  assert.equal(slackOf(2_000, 1_000), 200);
  assert.equal(slackOf(100, 1_000), 10);
  assert.equal(slackOf(10_000, 0), 0);
});

test("property: woken at each next due time, every run starts within [due - slack, due] and fixed-rate jobs never drift", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          first: fc.integer({ min: 0, max: 5_000 }),
          interval: fc.integer({ min: 100, max: 5_000 }),
          slack: fc.integer({ min: 0, max: 500 }),
        }),
        { minLength: 1, maxLength: 30 },
      ),
      (specs) => {
        const clock = new ManualClock(0);
        const s = new Scheduler(clock, { concurrency: 1_000, onError: (id, err) => assert.fail(`${id}: ${err}`) });
        const planned = specs.map((j) => j.first);
        const starts = specs.map(() => [] as number[]); // the planned time of each run
        specs.forEach((j, i) => {
          const slack = Math.min(j.slack, Math.floor(j.interval / 10));
          s.add(
            `j${i}`,
            j.first,
            () => {
              const due = planned[i] as number;
              assert.ok(
                clock.now() >= due - slack,
                `j${i} started at ${clock.now()}, more than ${slack} ms before ${due}`,
              );
              assert.ok(clock.now() <= due, `j${i} started at ${clock.now()}, after its due time ${due}`);
              starts[i]?.push(due);
              planned[i] = due + j.interval;
              return planned[i] as number;
            },
            { slack },
          );
        });
        const end = 30_000;
        let wakes = 0;
        for (;;) {
          // The timer's contract: wake no later than the most urgent due time.
          const next = Math.min(...planned);
          if (next > end) break;
          clock.set(Math.max(clock.now(), next));
          s.pump();
          wakes++;
        }
        specs.forEach((j, i) => {
          const dues = (starts[i] ?? []).filter((d) => d <= end);
          const expected = Array.from(
            { length: Math.floor((end - j.first) / j.interval) + 1 },
            (_, k) => j.first + k * j.interval,
          );
          assert.deepEqual(dues, expected, `j${i} ran once for each planned time, none skipped, no drift`);
        });
        assert.ok(wakes <= starts.reduce((a, r) => a + r.length, 0));
        s.stop();
      },
    ),
    { numRuns: 200 },
  );
});

test("property: any bytes on mirror.heartbeat.<name> decode without throwing, named by the subject", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom("", ".start", ".fail", ".other"),
      (bytes, suffix) => {
        const out = decodeHeartbeat(bytes, `mirror.heartbeat.job${suffix}`) as { name: string; kind: unknown };
        assert.equal(out.name, "job");
        if (suffix === ".start" || suffix === ".fail") assert.equal(out.kind, suffix.slice(1));
      },
    ),
  );
  assert.deepEqual(decodeHeartbeat(new Uint8Array(), "mirror.heartbeat.nightly"), {
    name: "nightly",
    kind: "success",
    at: "1970-01-01T00:00:00.000Z",
  });
});
