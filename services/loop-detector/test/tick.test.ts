import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, TIMER_SLACK_MS } from "@mirror/kit";
import { IDLE_TICKS, startTicker, type TickDeps } from "../src/tick.js";

// The ticker sleeps until the next wake-up time instead of polling Redis every tick (issue 25,
// idle CPU). Fake timers and a fake clock: every step is exact.
function fakeTimers() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let seq = 0;
  return {
    now: () => now,
    timers: {
      set: ((fn: () => void, ms: number) => {
        timers.set(++seq, { at: now + ms, fn });
        return seq;
      }) as unknown as typeof setTimeout,
      clear: ((id: number) => void timers.delete(id)) as unknown as typeof clearTimeout,
      mono: () => now,
    },
    /** Advances time to `to`, firing the timers due on the way (and letting each tick finish). */
    async advance(to: number) {
      for (;;) {
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > to) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      }
      now = to;
    },
  };
}

function fakeDeps(clock: () => number) {
  const calls: string[] = [];
  const due = new Map<string, number>();
  const deps = {
    log: createLogger("loop-detector", undefined, "silent"),
    now: clock,
    detector: {
      engine: { outbox: { drain: async () => void calls.push("drain") } },
      reevaluate: async (key: string) => {
        due.delete(key);
      },
    },
    store: {
      dueEntities: async (now: number) => {
        calls.push("dueEntities");
        return [...due].filter(([, at]) => at <= now).map(([k]) => k);
      },
      nextDue: async () => {
        calls.push("nextDue");
        return due.size ? Math.min(...due.values()) : null;
      },
    },
  } as unknown as TickDeps;
  return { deps, calls, due };
}

test("idle: with nothing due the ticker looks once per IDLE_TICKS ticks; a due time or a wake brings it forward", async () => {
  const t = fakeTimers();
  const { deps, calls, due } = fakeDeps(t.now);
  const ticker = startTicker(deps, 1_000, { timers: t.timers });
  try {
    await t.advance(0);
    assert.equal(calls.filter((c) => c === "dueEntities").length, 1, "one tick at start");
    calls.length = 0;
    // 60 s with nothing due: one tick per 10 s (it was one a second), each 3 Redis reads.
    await t.advance(60_000);
    assert.equal(IDLE_TICKS, 10);
    assert.equal(calls.filter((c) => c === "dueEntities").length, 6);
    // An entity due in 2.5 s (written by this replica: the store tells the ticker).
    due.set("repo:/r/x", 62_500);
    ticker.wake(62_500);
    calls.length = 0;
    // The wake-up waits TIMER_SLACK_MS past the due time (a real timer may fire that much early).
    await t.advance(62_500 + TIMER_SLACK_MS - 1);
    assert.equal(calls.length, 0, "nothing before it is due");
    await t.advance(62_500 + TIMER_SLACK_MS);
    assert.equal(due.size, 0, "re-evaluated when due");
    // A wake for now is never sooner than one tick (no spinning on a burst of commits).
    calls.length = 0;
    ticker.wake(t.now());
    await t.advance(t.now() + 999);
    assert.equal(calls.length, 0);
    await t.advance(t.now() + 1);
    assert.ok(calls.includes("dueEntities"));
    // A due time written by another replica (no wake here) is seen within IDLE_TICKS ticks.
    calls.length = 0;
    due.set("repo:/r/y", t.now() + 500);
    await t.advance(t.now() + 10_000);
    assert.equal(due.size, 0, "picked up by the idle tick");
  } finally {
    await ticker.stop();
  }
});
