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
