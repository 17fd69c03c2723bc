// The history member restarted mid-recording, and Redis restarted (AOF on) mid-recording, against
// real nats-server and redis-server processes: every result published counts exactly once (none
// lost, none doubled), the incident is whole, and the figures equal those of an uninterrupted run.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { raw as rawBus } from "@mirror/bus/testing";
import { type Loop, loopClosed, loopOpened, type ServiceStatus, serviceStatus } from "@mirror/contracts";
import { createLogger, ManualClock, parseConfig, type RunningService, runService } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { type HistoryHandles, historySpec } from "../services/history/src/app.js";

const silent = { write: () => true } as never;
const log = createLogger("t", silent, "silent");
const clock = new ManualClock(Date.parse("2026-08-01T09:00:00Z"));
const S = 1_000;
/** 90 results a second apart: up, down from the 30th to the 49th, up again. */
const PLAN = Array.from({ length: 90 }, (_, i) => (i >= 30 && i < 50 ? "down" : "up") as ServiceStatus["state"]);

let nats: ServerHandle;
let redis: ServerHandle;
let tracker: Bus;
let config: ReturnType<typeof parseConfig>;
let history: RunningService | undefined;
let handles: HistoryHandles;

const startHistory = async () => {
  history = await runService(
    historySpec((h) => (handles = h)),
    { config, port: 0, clock, httpToken: "t", logDest: silent },
  );
  await rawBus(history.ctx.bus).nc.flush();
};

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis({ appendonly: true })]);
  config = parseConfig("history: { port: 0 }\n", { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url });
  tracker = await Bus.connect({ name: "service-tracker", url: nats.url, log, registry: new Registry() });
  await startHistory();
});

after(async () => {
  await tracker?.close();
  await history?.stop();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

/**
 * Publishes the plan for `name` (one result per clock second), running `interrupt` (not awaited
 * by the publisher) when result `at` has been published, as a restart would happen in real life.
 * `first`, when given, is awaited there before the rest is published (what must have happened
 * before the later results arrive, however fast the publisher is).
 */
async function run(
  name: string,
  at: number,
  interrupt: () => Promise<void>,
  first?: () => Promise<void>,
): Promise<number> {
  const t0 = clock.now();
  let pending: Promise<void> | undefined;
  for (const [i, state] of PLAN.entries()) {
    const observedAt = new Date(t0 + i * S).toISOString();
    const since = new Date(t0 + (i < 30 ? 0 : i < 50 ? 30 : 50) * S).toISOString();
    const s: ServiceStatus = {
      name,
      kind: "http",
      state,
      observedAt,
      seq: i + 1,
      since,
      latencyMs: 10 + (i % 5),
      reason: state === "up" ? null : "connect ECONNREFUSED",
      failedConditions: [],
      heartbeat: null,
      cert: null,
      dependsOn: [],
      details: {},
    };
    await tracker.publish(serviceStatus, name, s, { id: `status:${name}:${i}` });
    if (i === at) {
      await first?.();
      pending = interrupt();
    }
    // A little time between results, so the interruption lands in the middle of the stream.
    if (i % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  clock.set(t0 + PLAN.length * S);
  await pending;
  return t0;
}

/** Waits until the history has every result of `name` (each is timed, so the series counts them), then checks the figures. */
async function assertWhole(name: string, t0: number): Promise<void> {
  const total = async () => (await handles.queries.check(name, "24h")).series.reduce((a, p) => a + p.n, 0);
  await waitFor(
    `${PLAN.length} results of ${name} recorded`,
    async () => ((await total()) >= PLAN.length ? true : undefined),
    { timeout: 30_000 },
  );
  // Redeliveries still in flight would show as more: give them a moment to arrive, then count again.
  await rawBus(history?.ctx.bus as Bus).nc.flush();
  const h = await handles.queries.check(name, "24h");
  assert.equal(
    h.series.reduce((a, p) => a + p.n, 0),
    PLAN.length,
    "every result counted once in the response times",
  );
  assert.equal(h.uptime["24h"], 70 / 90, "70 up of 90, none lost or doubled");
  assert.equal(h.uptime["365d"], 70 / 90, "the day bucket agrees");
  assert.deepEqual(
    h.incidents.map((i) => [i.start, i.end, i.durationMs]),
    [[new Date(t0 + 30 * S).toISOString(), new Date(t0 + 50 * S).toISOString(), 20 * S]],
    "one whole incident",
  );
  const [summary] = (await handles.queries.summary(name, 1)) ? [await handles.queries.summary(name, 1)] : [];
  assert.equal(summary?.incidentCount, 1);
}

test("the history member restarted mid-recording (drained stop, new process state): nothing lost, nothing counted twice", async () => {
  const t0 = await run("web", 20, async () => {
    await history?.stop();
    await startHistory();
  });
  await assertWhole("web", t0);
});

test("the history member cut off mid-recording (its bus connection closed without draining): redeliveries count once", async () => {
  const t0 = await run("api", 35, async () => {
    const old = history as RunningService;
    // As a crash: messages in flight are never acked, so JetStream delivers them again to the next one.
    await rawBus(old.ctx.bus).nc.close();
    await old.stop().catch(() => undefined);
    await startHistory();
  });
  await assertWhole("api", t0);
});

test("Redis restarted (AOF on) mid-recording: results held meanwhile are written once when it is back", async () => {
  const t0 = await run("db", 40, async () => {
    await redis.restart();
  });
  await assertWhole("db", t0);
});

test("Redis away while the history member restarts: results it held are not lost", async () => {
  // Redis stops before the rest is published, so results arrive while it is away (on a fast machine
  // the publisher could otherwise finish first); then the history stops and starts again before
  // Redis is back.
  const t0 = await run(
    "nas",
    25,
    async () => {
      await waitFor("results held in memory", () => (handles.recorder.buffered > 0 ? true : undefined), {
        timeout: 10_000,
      });
      await history?.stop();
      await redis.restart();
      await startHistory();
    },
    () => redis.stop(),
  );
  await assertWhole("nas", t0);
});

test("loop events across a history member cut off mid-stream: the day's opened, closed and open counts are exact", async () => {
  const detector = await Bus.connect({ name: "loop-detector", url: nats.url, log, registry: new Registry() });
  try {
    const day = new Date(clock.now()).toISOString().slice(0, 10);
    const before = (await handles.queries.trend(1))[0];
    const count = (r: Record<string, number> | undefined) => r?.["repo.dirty"] ?? 0;
    const loop = (i: number, status: Loop["status"], rev: number): Loop => {
      const at = new Date(clock.now()).toISOString();
      return {
        id: `L${i}`,
        kind: "repo.dirty",
        entity: { type: "repo", repo: `/r/${i}` },
        severity: "low",
        status,
        summary: "dirty",
        openedAt: at,
        updatedAt: at,
        closedAt: status === "closed" ? at : null,
        snoozedUntil: null,
        suppressedBy: [],
        rev,
        evidence: {},
        triage: null,
        history: [],
      };
    };
    let pending: Promise<void> | undefined;
    for (let i = 0; i < 30; i++) {
      await detector.publish(loopOpened, `L${i}`, { loop: loop(i, "open", 1), reason: "rule" }, { id: `loop:L${i}:1` });
      // Ten of them close again; the history is cut off after the 15th is opened.
      if (i % 3 === 0)
        await detector.publish(
          loopClosed,
          `L${i}`,
          { loop: loop(i, "closed", 2), reason: "clean" },
          { id: `loop:L${i}:2` },
        );
      if (i === 15) {
        const old = history as RunningService;
        pending = (async () => {
          await rawBus(old.ctx.bus).nc.close();
          await old.stop().catch(() => undefined);
          await startHistory();
        })();
      }
      clock.advance(S);
    }
    await pending;
    const today = await waitFor(
      "every loop event recorded",
      async () => {
        const d = (await handles.queries.trend(1))[0];
        return d && count(d.opened) - count(before?.opened) >= 30 && count(d.closed) - count(before?.closed) >= 10
          ? d
          : undefined;
      },
      { timeout: 30_000 },
    );
    assert.equal(today.date, day);
    assert.equal(count(today.opened) - count(before?.opened), 30, "opened once each");
    assert.equal(count(today.closed) - count(before?.closed), 10, "closed once each");
    assert.equal(today.open["repo.dirty"]?.low, 20, "20 still open");
  } finally {
    await detector.close();
  }
});
