/**
 * `loops.reconcile` (issue 11): snapshots reconciled per second by the real Detector (rules,
 * read + compare-and-set in Redis, loop events through the outbox to JetStream) with 100,000
 * open loops in Redis, against the same work with 100 loops. Cost must not grow with the
 * number of loops.
 *
 * Both stores hold N open repo.dirty loops; the same 100 of them are snapshotted again and
 * again, each pass flipping them clean (closing) or dirty (reopening), 16 at once as the
 * consumer does. Each store has its own redis-server so the baseline's keyspace stays small.
 */
import { Bus } from "@mirror/bus";
import { entityKey, type MirrorConfig } from "@mirror/contracts";
import { createLogger, createStore, parseConfig, systemClock } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis } from "@mirror/testkit";
import type { Redis } from "ioredis";
import { Registry } from "prom-client";
import { Detector } from "../services/loop-detector/src/detector.js";
import { evaluate } from "../services/loop-detector/src/evaluate.js";
import { reconcile } from "../services/loop-detector/src/reconcile.js";
import { resolveRules } from "../services/loop-detector/src/rules/rule.js";
import { emptyState } from "../services/loop-detector/src/state.js";
import { LoopStore } from "../services/loop-detector/src/store.js";
import { type Bench, type BenchOptions, figure, interleave } from "./figure.js";
import { pool } from "./load.js";
import { snapshot } from "./snapshots.js";

type Logger = ReturnType<typeof createLogger>;

const WORKING = 100;
const CONCURRENCY = 16;
const SEEDED_AT = Date.now() - 3_600_000;

const pathOf = (i: number) => `/bench/loops/repo-${i}`;

interface Side {
  redis: ServerHandle;
  store: Redis;
  bus: Bus;
  detector: Detector;
  /** Passes done so far: each one is newer than the last and flips dirty/clean. */
  pass: number;
}

/** Writes `count` open repo.dirty loops straight into the store (as the detector would have). */
async function seed(loops: LoopStore, config: MirrorConfig, count: number): Promise<void> {
  const rules = resolveRules(config.loops);
  const opts = { suppressedBy: [], historyLimit: config.loops.historyLimit };
  await pool(count, 500, async (i) => {
    const s = snapshot(pathOf(i), 0, true, new Date(SEEDED_AT));
    const obs = { source: "repo" as const, at: SEEDED_AT, seq: 0, data: s };
    const entity = { type: "repo" as const, repo: s.path };
    const m = reconcile({ ...emptyState(entity), obs }, evaluate(obs, SEEDED_AT, rules) ?? [], SEEDED_AT, opts);
    const ids = Object.values(m.state.loops).map((l) => l.loop.id);
    const ok = await loops.commit(entityKey(entity), 0, JSON.stringify(m.state), {
      loopIds: ids,
      outbox: [],
      counts: [["repo.dirty|low|open", 1]],
      wake: null,
    });
    if (!ok) throw new Error(`seeding ${s.path} conflicted`);
  });
}

async function side(
  redis: ServerHandle,
  count: number,
  config: MirrorConfig,
  natsUrl: string,
  log: Logger,
): Promise<Side> {
  const store = createStore(redis.url, "loop-detector", log);
  const loops = new LoopStore(store);
  await seed(loops, config, count);
  const bus = await Bus.connect({ name: "loop-detector", url: natsUrl, log, registry: new Registry() });
  return { redis, store, bus, detector: new Detector({ config, store: loops, bus, clock: systemClock, log }), pass: 0 };
}

/** Reconciles `passes` x 100 snapshots; returns snapshots per second. */
async function reconcileRate(s: Side, passes: number): Promise<number> {
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) {
    const n = ++s.pass;
    const at = new Date(SEEDED_AT + n * 1_000);
    await pool(WORKING, CONCURRENCY, (i) => s.detector.onRepoSnapshot(snapshot(pathOf(i), n, n % 2 === 0, at)));
  }
  return (passes * WORKING * 1000) / (performance.now() - t0);
}

export const loopsBench: Bench = {
  name: "loops",
  figures: ["loops.reconcile"],
  async run(opts: BenchOptions) {
    const many = opts.quick ? 1_000 : 100_000;
    const passes = opts.quick ? 2 : 30;
    const log = createLogger("bench", undefined, "warn");
    const config = parseConfig("loops: { triage: false, rules: { repo.dirty: { after: 0s } } }\n", {});
    const servers = await Promise.all([startNats(), startRedis(), startRedis()]);
    const [nats, r1, r2] = servers as [ServerHandle, ServerHandle, ServerHandle];
    const sides: Side[] = [];
    try {
      const t = performance.now();
      for (const [r, n] of [
        [r1, WORKING],
        [r2, many],
      ] as const)
        sides.push(await side(r, n, config, nats.url, log));
      const [few, lots] = sides as [Side, Side];
      opts.log?.(`seeded ${WORKING} and ${many} open loops in ${((performance.now() - t) / 1000).toFixed(1)}s`);
      const { runs, base } = await interleave(
        opts,
        async (i) => {
          const r = await reconcileRate(lots, passes);
          opts.log?.(`run ${i}: ${r.toFixed(0)} snapshots/s with ${many} loops`);
          return r;
        },
        async (i) => {
          const r = await reconcileRate(few, passes);
          opts.log?.(`run ${i}: ${r.toFixed(0)} snapshots/s with ${WORKING} loops`);
          return r;
        },
      );
      return [
        figure({
          id: "loops.reconcile",
          unit: "snapshots/s",
          runs,
          baseline: `loops.reconcile with ${WORKING} loops`,
          baselineRuns: base,
          goal: { on: "ratio", op: ">=", limit: 0.5 },
          note: `${passes * WORKING} snapshots per run (each closes or reopens a loop: read, rules, compare-and-set, one JetStream publish), ${CONCURRENCY} at once, with ${many.toLocaleString("en-US")} open loops in Redis`,
        }),
      ];
    } finally {
      for (const s of sides) {
        await s.bus.close();
        await s.store.quit();
      }
      await Promise.all(servers.map((s) => s.dispose()));
    }
  },
};
