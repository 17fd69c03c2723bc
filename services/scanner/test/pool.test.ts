import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Limiter, mapPool } from "../src/pool.js";

test("property: a Limiter never runs more than its limit at once, runs every job, in arrival order", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.nat({ max: 3 }), { maxLength: 30 }),
      async (limit, delays) => {
        const slots = new Limiter(limit);
        let active = 0;
        let peak = 0;
        const started: number[] = [];
        const results = await Promise.all(
          delays.map((d, i) =>
            slots
              .run(async () => {
                started.push(i);
                peak = Math.max(peak, ++active);
                for (let k = 0; k < d; k++) await Promise.resolve();
                active--;
                if (d === 3) throw new Error(`job ${i}`);
                return i;
              })
              .catch((err: Error) => err.message),
          ),
        );
        assert.ok(peak <= limit);
        assert.deepEqual(
          started,
          delays.map((_, i) => i),
        );
        assert.deepEqual(
          results,
          delays.map((d, i) => (d === 3 ? `job ${i}` : i)),
        );
      },
    ),
    { numRuns: 300 },
  );
});

test("repos in flight beyond the git slots wait for a slot, and a failed job frees its slot", async () => {
  const slots = new Limiter(2);
  let active = 0;
  let peak = 0;
  const out = await mapPool([1, 2, 3, 4, 5, 6, 7, 8], 4, async (n) => {
    const got = await slots
      .run(async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setImmediate(r));
        active--;
        if (n === 3) throw new Error("git failed");
        return n * 10;
      })
      .catch(() => -1);
    return got;
  });
  assert.equal(peak, 2);
  assert.deepEqual(out, [10, 20, -1, 40, 50, 60, 70, 80]);
});
