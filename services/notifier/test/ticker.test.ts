// The notifier's ticker: every tickMs while there is work, every idleMs after a tick that found
// none (an idle notifier asks Redis less often), and at once when kicked.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { startTicker } from "../src/ticker.js";

const silent = createLogger("t", { write: () => true } as never, "silent");

test("idle ticks come every idleMs, busy ones every tickMs, and a kick runs one at once", async () => {
  const at: number[] = [];
  let busy = false;
  const t0 = performance.now();
  const ticker = startTicker(
    async () => {
      at.push(performance.now() - t0);
      return busy;
    },
    20,
    silent,
    400,
  );
  try {
    await waitFor("two idle ticks", () => at.length >= 2, { timeout: 5_000, interval: 10 });
    const idleGap = (at[1] as number) - (at[0] as number);
    assert.ok(idleGap >= 380, `idle ticks ${idleGap} ms apart`);
    busy = true;
    const before = at.length;
    ticker.kick();
    assert.equal(at.length, before + 1, "a kick runs a tick at once");
    await waitFor("busy ticks", () => at.length >= before + 6, { timeout: 2_000, interval: 5 });
    const gaps = at.slice(before + 1, before + 6).map((v, i) => v - (at[before + i] as number));
    assert.ok(
      gaps.every((g) => g < 300),
      `busy ticks ${gaps.map((g) => Math.round(g)).join(", ")} ms apart`,
    );
  } finally {
    await ticker.stop();
  }
  const n = at.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(at.length, n, "no tick after stop");
});

test("a failing tick is retried at the busy pace", async () => {
  let calls = 0;
  const ticker = startTicker(
    async () => {
      calls++;
      throw new Error("redis away");
    },
    20,
    silent,
    10_000,
  );
  try {
    await waitFor("retried", () => calls >= 3, { timeout: 2_000, interval: 5 });
  } finally {
    await ticker.stop();
  }
});

test("idle with a due time: it sleeps until the next due time in Redis (at least idleMs, at most maxIdleMs); wakeAt brings it forward", async () => {
  const at: number[] = [];
  let reads = 0;
  let nextDue: number | null = null;
  const now = () => performance.now();
  const ticker = startTicker(
    async () => {
      at.push(now());
      return false;
    },
    20,
    silent,
    50,
    {
      next: async () => {
        reads++;
        return nextDue;
      },
      now,
      maxIdleMs: 600,
    },
  );
  try {
    // Nothing due: one look per maxIdleMs (600 ms), not per idleMs (50 ms).
    await waitFor("first tick", () => at.length >= 1, { timeout: 5_000, interval: 5 });
    const t0 = now();
    await new Promise((r) => setTimeout(r, 1_000));
    const looks = at.filter((t) => t > t0).length;
    assert.ok(looks <= 2, `${looks} ticks in 1 s with nothing due`);
    assert.ok(reads <= 3, `${reads} next-due reads in 1 s`);
    // A group written by this replica due in 150 ms: a tick then, not at the idle end.
    const before = at.length;
    const due = now() + 150;
    nextDue = due;
    ticker.wakeAt(due);
    await waitFor("the tick when due", () => at.length > before, { timeout: 2_000, interval: 5 });
    const late = (at[before] as number) - due;
    assert.ok(late >= -1 && late < 300, `ticked ${Math.round(late)} ms after due`);
    // A due time already in the past (a held group) is looked at every idleMs, as before.
    nextDue = 0;
    const n = at.length;
    await waitFor("idle pace with a past due time", () => at.length >= n + 3, { timeout: 2_000, interval: 5 });
  } finally {
    await ticker.stop();
  }
});
