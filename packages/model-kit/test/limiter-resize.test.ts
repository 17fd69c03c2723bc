import assert from "node:assert/strict";
import { test } from "node:test";
import { Limiter } from "@mirror/model-kit";

/** A call that holds its slot until released. */
function held() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { done, release };
}

test("a limiter resized by a reload: more slots let waiting calls in at once, fewer let none in until enough have finished", async () => {
  const limiter = new Limiter(1, 5_000);
  const calls = [held(), held(), held(), held()];
  const started: number[] = [];
  const runs = calls.map((c, i) =>
    limiter.run(5_000, async () => {
      started.push(i);
      await c.done;
    }),
  );
  await Promise.resolve();
  assert.deepEqual([limiter.inFlight, limiter.queued], [1, 3]);

  limiter.resize(3, 5_000);
  await Promise.resolve();
  assert.deepEqual([limiter.inFlight, limiter.queued], [3, 1], "two waiting calls let in at once");

  limiter.resize(1, 5_000);
  calls[0]?.release();
  calls[1]?.release();
  await Promise.all(runs.slice(0, 2));
  assert.deepEqual(
    [limiter.inFlight, limiter.queued],
    [1, 1],
    "still one over the new limit: the waiting call stays waiting",
  );
  calls[2]?.release();
  await runs[2];
  await Promise.resolve();
  assert.deepEqual([limiter.inFlight, limiter.queued], [1, 0], "let in once the calls in flight are under the limit");
  calls[3]?.release();
  await runs[3];
  assert.deepEqual(started, [0, 1, 2, 3]);
});
