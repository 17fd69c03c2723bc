import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "@mirror/kit";
import fc from "fast-check";
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

test("property: any bytes on mirror.heartbeat.<name> decode without throwing, named by the subject", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom("", ".start", ".fail", ".other"), (bytes, suffix) => {
      const out = decodeHeartbeat(bytes, `mirror.heartbeat.job${suffix}`) as { name: string; kind: unknown };
      assert.equal(out.name, "job");
      if (suffix === ".start" || suffix === ".fail") assert.equal(out.kind, suffix.slice(1));
    }),
  );
  assert.deepEqual(decodeHeartbeat(new Uint8Array(), "mirror.heartbeat.nightly"), { name: "nightly", kind: "success", at: "1970-01-01T00:00:00.000Z" });
});
