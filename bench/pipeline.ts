/**
 * Pipeline figures (issue 11): repo snapshots published on the bus, through the real
 * loop-detector (rules + Redis) and notifier processes, to grouped webhook deliveries at a
 * local receiver; beside `jetstream.raw` on the same nats-server. Also the RSS of every
 * service, idle and under this load.
 */
import { join } from "node:path";
import { Bus } from "@mirror/bus";
import { repoKey, repoSnapshot } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis } from "@mirror/testkit";
import { Registry } from "prom-client";
import { type Bench, type BenchOptions, type Figure, figure, interleave, median, quantile } from "./figure.js";
import { type Hook, startHook } from "./hook.js";
import { type LatencyResult, RawJetStream } from "./jetstream.js";
import { paced, pool, sleep } from "./load.js";
import { type BenchMesh, startBenchMesh } from "./mesh.js";
import { bareNodeRss, rssMB, rssSampler, servicePids } from "./procs.js";
import { payloads, snapshot } from "./snapshots.js";

const IN_FLIGHT = 100;
const RSS_GOAL_MB = 120;

interface Sizes {
  /** Snapshots per throughput run. */
  count: number;
  /** Events/s of the latency runs, and how long each lasts. */
  rate: number;
  seconds: number;
}

interface Env {
  bus: Bus;
  hook: Hook;
  mesh: BenchMesh;
  raw: RawJetStream;
  batch: number;
}

/** `count` fresh repo paths (new loops) under the scanner root. */
function freshPaths(env: Env, count: number): string[] {
  const b = env.batch++;
  return Array.from({ length: count }, (_, i) => join(env.mesh.root, `b${b}`, `repo-${i}`));
}

function publish(env: Env, path: string): Promise<unknown> {
  const key = repoKey(path);
  return env.bus.publish(repoSnapshot, key, snapshot(path, 1, true), { id: `bench:${key}:1` });
}

/** Events/s from the first publish to the last firing alert received. */
async function throughput(env: Env, count: number): Promise<number> {
  const paths = freshPaths(env, count);
  const t0 = performance.now();
  const all = env.hook.waitAll(paths, 120_000);
  await pool(count, IN_FLIGHT, (i) => publish(env, paths[i] as string));
  await all;
  const arrived = paths.map((p) => env.hook.arrivals.get(p)).filter((t): t is number => t !== undefined);
  if (arrived.length < count) throw new Error(`pipeline: ${count - arrived.length} of ${count} snapshots never reached the webhook`);
  return (count * 1000) / (Math.max(...arrived) - t0);
}

/** Snapshot published -> webhook received (ms) at `rate` events/s; lost events count at the deadline. */
async function latency(env: Env, rate: number, seconds: number, deadlineMs = 30_000): Promise<LatencyResult> {
  const paths = freshPaths(env, Math.round(rate * seconds));
  const sent = new Float64Array(paths.length);
  await paced(paths.length, rate, (i) => {
    sent[i] = performance.now();
    return publish(env, paths[i] as string);
  });
  await env.hook.waitAll(paths, deadlineMs);
  const lat = paths.map((p, i) => {
    const at = env.hook.arrivals.get(p);
    return at === undefined ? deadlineMs : at - (sent[i] as number);
  });
  const lost = paths.filter((p) => !env.hook.arrivals.has(p)).length;
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), lost };
}

/** RSS of each service after it has been idle for a while (median of 3 samples a second apart). */
async function idleRss(mesh: BenchMesh): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>();
  for (let i = 0; i < 3; i++) {
    await sleep(1_000);
    for (const [name, pid] of servicePids(mesh.mesh.child.pid ?? 0, mesh.names)) samples.set(name, [...(samples.get(name) ?? []), rssMB(pid)]);
  }
  return new Map([...samples].map(([n, v]) => [n, median(v)]));
}

interface Run {
  tp: number;
  lat: LatencyResult;
  peak: Map<string, number>;
}

function figures(sizes: Sizes, runs: Run[], base: { tp: number; lat: LatencyResult }[], idle: Map<string, number>, bare: number[], names: readonly string[]): Figure[] {
  const out: Figure[] = [
    figure({
      id: "pipeline.throughput",
      unit: "events/s",
      runs: runs.map((r) => r.tp),
      baseline: "jetstream.raw",
      baselineRuns: base.map((b) => b.tp),
      goal: { on: "ratio", op: ">=", limit: 0.25 },
      note: `${sizes.count} snapshots, ${IN_FLIGHT} publishes in flight, each opening a loop delivered to the webhook; baseline: bare JetStream publish + durable consume of the same payloads`,
    }),
    figure({
      id: "pipeline.latency_p99_ms",
      unit: "ms",
      runs: runs.map((r) => r.lat.p99),
      baseline: "jetstream.raw",
      baselineRuns: base.map((b) => b.lat.p99),
      goal: { on: "value", op: "<", limit: 25 },
      note: `snapshot published -> webhook received, ${sizes.rate} events/s for ${sizes.seconds}s, groupWait 0s; baseline: bare JetStream publish -> consume at the same rate`,
      extra: { p50: median(runs.map((r) => r.lat.p50)), lost: Math.max(...runs.map((r) => r.lat.lost)), baselineP50: median(base.map((b) => b.lat.p50)) },
    }),
  ];
  for (const name of names) {
    const peaks = runs.map((r) => r.peak.get(name) ?? Number.NaN);
    const f = figure({
      id: `rss.${name}`,
      unit: "MB",
      runs: peaks,
      baseline: "node.idle",
      baselineRuns: bare,
      goal: { on: "value", op: "<", limit: RSS_GOAL_MB },
      note: "peak resident memory under the pipeline load (idle in extra.idle); baseline: an idle `node --import tsx` process",
      extra: { idle: idle.get(name) ?? Number.NaN },
    });
    out.push({ ...f, ok: f.ok && (idle.get(name) ?? Number.POSITIVE_INFINITY) < RSS_GOAL_MB });
  }
  return out;
}

async function measure(env: Env, sizes: Sizes, opts: BenchOptions): Promise<Figure[]> {
  const log = opts.log ?? (() => {});
  const idle = await idleRss(env.mesh);
  const bare = await Promise.all([bareNodeRss(), bareNodeRss(), bareNodeRss()]);
  log(`idle RSS ${[...idle].map(([n, v]) => `${n} ${v.toFixed(0)}MB`).join(", ")}; bare node ${median(bare).toFixed(0)}MB`);
  const root = env.mesh.mesh.child.pid ?? 0;
  const { runs, base } = await interleave<Run, { tp: number; lat: LatencyResult }>(
    opts,
    async (i) => {
      const sampler = rssSampler(root, env.mesh.names);
      const tp = await throughput(env, sizes.count);
      const lat = await latency(env, sizes.rate, sizes.seconds);
      const peak = sampler.stop();
      log(`pipeline run ${i}: ${tp.toFixed(0)} events/s, p99 ${lat.p99.toFixed(1)}ms (p50 ${lat.p50.toFixed(1)}, lost ${lat.lost})`);
      return { tp, lat, peak };
    },
    async (i) => {
      const tp = await env.raw.throughput(payloads(freshPaths(env, sizes.count)), IN_FLIGHT);
      const lat = await env.raw.latency(payloads(freshPaths(env, Math.round(sizes.rate * sizes.seconds))), sizes.rate);
      log(`jetstream.raw run ${i}: ${tp.toFixed(0)} events/s, p99 ${lat.p99.toFixed(1)}ms`);
      return { tp, lat };
    },
  );
  return figures(sizes, runs, base, idle, bare, env.mesh.names);
}

export const pipelineBench: Bench = {
  name: "pipeline",
  figures: ["pipeline.throughput", "pipeline.latency_p99_ms", "rss."],
  async run(opts) {
    const sizes: Sizes = opts.quick ? { count: 50, rate: 100, seconds: 1 } : { count: 3_000, rate: 1_000, seconds: 5 };
    const servers: ServerHandle[] = [];
    let mesh: BenchMesh | undefined;
    let bus: Bus | undefined;
    let raw: RawJetStream | undefined;
    const hook = await startHook();
    try {
      const [nats, redis] = await Promise.all([startNats(), startRedis()]);
      servers.push(nats, redis);
      mesh = await startBenchMesh({ natsUrl: nats.url, redisUrl: redis.url, hookUrl: hook.url });
      opts.log?.("mesh started");
      bus = await Bus.connect({ name: "bench-publisher", url: nats.url, log: createLogger("bench", undefined, "warn"), registry: new Registry() });
      raw = await RawJetStream.open(nats.url);
      return await measure({ bus, hook, mesh, raw, batch: 0 }, sizes, opts);
    } finally {
      await raw?.close().catch(() => undefined);
      await bus?.close().catch(() => undefined);
      await mesh?.stop().catch(() => undefined);
      await hook.close();
      await Promise.all(servers.map((s) => s.dispose()));
    }
  },
};
