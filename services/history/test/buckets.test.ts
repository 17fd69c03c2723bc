// Property tests of the bucket arithmetic: calendar days in any time zone, ring slots, the
// latency histogram and its p95, and the script arguments a status becomes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "@mirror/kit";
import fc from "fast-check";
import { Redis } from "ioredis";
import { Calendar, LATENCY_BINS, latencyBin, p95, RINGS, slotOf } from "../src/buckets.js";
import { Recorder } from "../src/recorder.js";

const ZONES = [
  "UTC",
  "Europe/Berlin",
  "America/New_York",
  "Asia/Kolkata",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "America/St_Johns",
];
const instant = fc.integer({ min: Date.parse("2000-01-01T00:00:00Z"), max: Date.parse("2040-01-01T00:00:00Z") });

test("a calendar day is the local date in the zone, whatever the quarter hour cache saw before", () => {
  fc.assert(
    fc.property(fc.constantFrom(...ZONES), fc.array(instant, { minLength: 1, maxLength: 20 }), (zone, times) => {
      const cal = new Calendar(zone);
      const fmt = new Intl.DateTimeFormat("en-CA", {
        timeZone: zone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
      });
      for (const t of times)
        assert.equal(
          new Date(cal.day(t) * RINGS.day.ms).toISOString().slice(0, 10),
          fmt.format(t),
          `${zone} ${new Date(t).toISOString()}`,
        );
    }),
  );
});

test("calendar days never go backwards as time goes forward (DST days of 23 or 25 hours included)", () => {
  fc.assert(
    fc.property(fc.constantFrom(...ZONES), instant, fc.integer({ min: 1, max: 3 * 86_400_000 }), (zone, t, step) => {
      const cal = new Calendar(zone);
      const a = cal.day(t);
      const b = cal.day(t + step);
      assert.ok(b >= a && b - a <= Math.ceil(step / 86_400_000) + 1);
    }),
  );
});

test("ring slots are within the ring and distinct for the indexes a ring keeps", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("minute", "hour", "day") as fc.Arbitrary<keyof typeof RINGS>,
      fc.integer({ min: -1e9, max: 1e9 }),
      (res, start) => {
        const n = RINGS[res].slots;
        const slots = new Set(Array.from({ length: n }, (_, i) => slotOf(start + i, res)));
        assert.equal(slots.size, n);
        for (const s of slots) assert.ok(s >= 0 && s < n);
      },
    ),
    { numRuns: 30 },
  );
});

test("the latency bin holds the value; p95 lies between min and max and at or above the true p95's bin floor", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
      (values) => {
        const hist = Array<number>(LATENCY_BINS.length).fill(0);
        for (const v of values) {
          const b = latencyBin(v);
          assert.ok(v <= (LATENCY_BINS[b] as number) && (b === 0 || v > (LATENCY_BINS[b - 1] as number)));
          hist[b] = (hist[b] as number) + 1;
        }
        const [min, max] = [Math.min(...values), Math.max(...values)];
        const p = p95(hist, min, max);
        const sorted = [...values].sort((a, b) => a - b);
        const truth = sorted[Math.ceil(sorted.length * 0.95) - 1] as number;
        assert.ok(p >= min && p <= max, `${p} in [${min}, ${max}]`);
        assert.ok(p >= truth || p === max, `p95 ${p} is not below the true ${truth} (it is its bin's upper bound)`);
      },
    ),
  );
});

test("a status from any producer clock becomes script arguments with no time ahead of now + 5 min and since <= time", () => {
  const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"));
  const recorder = new Recorder({
    store: new Redis({ lazyConnect: true }),
    calendar: new Calendar("UTC"),
    clock,
    bufferLimit: 1,
  });
  fc.assert(
    fc.property(
      instant,
      instant,
      fc.option(fc.double({ min: 0, max: 1e6, noNaN: true })),
      (observed, since, latency) => {
        const args = recorder.args(
          {
            name: "x",
            kind: "http",
            state: "up",
            observedAt: new Date(observed).toISOString(),
            seq: 1,
            since: new Date(since).toISOString(),
            latencyMs: latency,
            reason: null,
            failedConditions: [],
            heartbeat: null,
            cert: null,
            dependsOn: [],
            details: {},
          },
          "id",
        );
        const [t, , lat, , , s] = args.slice(9) as number[];
        assert.ok((t as number) <= clock.now() + 300_000);
        assert.ok((s as number) <= (t as number));
        assert.ok(latency === null ? lat === -1 : (lat as number) >= 0);
      },
    ),
  );
});
