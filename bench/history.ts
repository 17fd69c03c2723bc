/**
 * `history.record` (issue 22): CPU µs of this process per check result recorded (argument
 * building, the script call through ioredis, its reply), beside one bare HINCRBY per result on the
 * same connection. `history.query`: wall ms for the 90-day uptime of 1,000 checks (each summed
 * inside Redis), beside a bare pipelined HMGET of the same day buckets that sums nothing.
 */
import type { ServiceStatus } from "@mirror/contracts";
import { ManualClock } from "@mirror/kit";
import { type ServerHandle, startRedis } from "@mirror/testkit";
import { Redis } from "ioredis";
import { Calendar, RINGS, slotOf } from "../services/history/src/buckets.js";
import { checkKeys } from "../services/history/src/keys.js";
import { HistoryQueries } from "../services/history/src/queries.js";
import { Recorder } from "../services/history/src/recorder.js";
import { type Bench, type BenchOptions, figure, interleave } from "./figure.js";

const BATCH = 200;

function status(name: string, seq: number, t: number): ServiceStatus {
  const at = new Date(t).toISOString();
  return {
    name,
    kind: "http",
    state: seq % 50 ? "up" : "down",
    observedAt: at,
    seq,
    since: at,
    latencyMs: 10 + (seq % 90),
    reason: seq % 50 ? null : "timeout",
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
  };
}

/** CPU µs per item of `count` calls of `fn`, `BATCH` in flight at a time. */
async function cpuUsPer(count: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i += BATCH)
    await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => fn(i + j)));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}

/** The day ring of `checks` checks, full for 91 days, written directly. */
async function fill(store: Redis, calendar: Calendar, now: number, checks: number): Promise<string[]> {
  const names = Array.from({ length: checks }, (_, i) => `bench-${i}`);
  const today = calendar.day(now);
  const hist = Array(16).fill(0).join(",");
  await Promise.all(
    names.map((n) => {
      const fields: Record<string, string> = {};
      for (let d = today - 90; d <= today; d++)
        fields[slotOf(d, "day")] = `${d},1440,1430,8,2,1440,28800,10,99,${hist}`;
      return store.hset(checkKeys(n).day, fields);
    }),
  );
  return names;
}

export const historyBench: Bench = {
  name: "history",
  figures: ["history.record", "history.query"],
  async run(opts: BenchOptions) {
    const redis: ServerHandle = await startRedis();
    const store = new Redis(redis.url, { keyPrefix: "mirror:history:", enableAutoPipelining: true });
    try {
      const clock = new ManualClock(Date.parse("2026-06-01T00:00:00Z"));
      const calendar = new Calendar("UTC");
      const recorder = new Recorder({ store, calendar, clock, bufferLimit: 0 });
      const queries = new HistoryQueries({ store, calendar, clock });
      const count = opts.quick ? 200 : 20_000;
      let seq = 0;
      const record = await interleave(
        opts,
        async (i) => {
          const us = await cpuUsPer(count, async () => {
            const s = status(`check-${seq % 100}`, ++seq, clock.now() + seq * 1_000);
            if ((await recorder.record(s, `status:${s.name}:${s.seq}`)) !== "recorded")
              throw new Error("history.record: a result was not recorded");
          });
          opts.log?.(`run ${i}: ${us.toFixed(1)} µs CPU per result recorded`);
          return us;
        },
        async () => cpuUsPer(count, (i) => store.hincrby("bench:bare", String(i % 2_880), 1)),
      );
      const checks = opts.quick ? 20 : 1_000;
      const now = clock.now() + count * 1_000;
      clock.set(now);
      const names = await fill(store, calendar, now, checks);
      const today = calendar.day(now);
      const query = await interleave(
        opts,
        async (i) => {
          const t0 = performance.now();
          const uptimes = await queries.uptimeMany(names, "90d");
          const ms = performance.now() - t0;
          if (uptimes.some((u) => u === null || Math.abs(u - 1430 / 1440) > 1e-9))
            throw new Error("history.query: a wrong uptime");
          opts.log?.(`run ${i}: ${ms.toFixed(1)} ms for the 90-day uptime of ${checks} checks`);
          return ms;
        },
        async () => {
          const t0 = performance.now();
          const fields = Array.from({ length: 90 }, (_, k) => String(slotOf(today - 89 + k, "day")));
          await Promise.all(names.map((n) => store.hmget(checkKeys(n).day, ...fields)));
          return performance.now() - t0;
        },
      );
      return [
        figure({
          id: "history.record",
          unit: "µs",
          runs: record.runs,
          baseline: "bare HINCRBY per result",
          baselineRuns: record.base,
          goal: { on: "value", op: "<=", limit: 50 },
          note: `${count} check results recorded (3 bucket rings, incident, dedupe: one Lua call each), ${BATCH} in flight, CPU time of this process per result`,
        }),
        figure({
          id: "history.query",
          unit: "ms",
          runs: query.runs,
          baseline: "bare pipelined HMGET of the same day buckets",
          baselineRuns: query.base,
          goal: { on: "value", op: "<", limit: 200 },
          note: `90-day uptime of ${checks} checks (HistoryQueries.uptimeMany), summed inside Redis from their day rings (${RINGS.day.slots} slots each), 250 checks per script call; wall time`,
        }),
      ];
    } finally {
      store.disconnect();
      await redis.dispose();
    }
  },
};
