/**
 * Pipeline figures (issue 11): repo snapshots published on the bus, through the real
 * loop-detector (rules + Redis) and notifier processes, to grouped webhook deliveries at a
 * local receiver; beside `jetstream.raw` on the same nats-server. Also the RSS of every
 * service, idle and under this load.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Bus } from "@mirror/bus";
import { repoKey, repoSnapshot, STREAM } from "@mirror/contracts";
import { type Bench, type BenchOptions, type Figure, figure, interleave, median, quantile } from "./figure.js";
import { BusChain } from "./chain.js";
import { type Hook, startHook } from "./hook.js";
import { type LatencyResult, RawJetStream } from "./jetstream.js";
import { paced, pool, sleep } from "./load.js";
import { type BenchMesh, startBenchMesh } from "./mesh.js";
import { type BenchServers, benchBus, type OpCounts, opCounts, opsPerEvent, startBenchServers } from "./secure.js";
import { bareNodeRss, cpuMs, rssMB, rssSampler, serverPid, servicePids, sysCounts } from "./procs.js";
import { deliveryCount, redeliveriesBetween } from "./redeliveries.js";
import { payloads, snapshot } from "./snapshots.js";
import { type StageLatency, stageLatency } from "./stages.js";
import { raw } from "@mirror/bus/testing";

const IN_FLIGHT = 100;
/** Throughput runs in the warm-up (see measure()). */
const WARM_UP_RUNS = 5;
const RSS_GOAL_MB = 120;
/** pipeline.throughput's goal: at least this share of jetstream.raw's events/s. */
const THROUGHPUT_GOAL = 0.15;
/** pipeline.cpu_ms_per_event's goal: CPU ms per event over every process. */
const CPU_GOAL_MS = 1.5;
/** With identity on, the CPU per event may be at most this times the same run without it. */
const IDENTITY_OVERHEAD_GOAL = 1.5;
/** Events/s of the latency run at a home server's pace (where every hop wakes an idle process). */
const SLOW_RATE = 50;

function describeStages(s: StageLatency | undefined): string {
  return s
    ? `detect p50 ${s.detectP50.toFixed(1)} p99 ${s.detectP99.toFixed(1)}ms, notify p50 ${s.notifyP50.toFixed(1)} p99 ${s.notifyP99.toFixed(1)}ms`
    : "stages not found in the stream";
}

/** Stage quantiles of the runs as extra keys (`<prefix>.detectP50` ...), medians over the runs. */
function stageExtra(prefix: string, stages: (StageLatency | undefined)[]): Record<string, number> {
  const keys = ["detectP50", "detectP99", "notifyP50", "notifyP99"] as const;
  return Object.fromEntries(keys.map((k) => [`${prefix}.${k}`, median(stages.map((s) => s?.[k] ?? Number.NaN))]));
}

interface Sizes {
  /** Snapshots per throughput run. */
  count: number;
  /** Events/s of the latency runs, and how long each lasts. */
  rate: number;
  seconds: number;
  /** How long the latency run at half the measured throughput lasts. */
  calmSeconds: number;
  /**
   * How long the run at SLOW_RATE lasts: 10 s is 500 events, so its p99 is the 5th-worst event.
   * At 3 s (150 events) it was the second-worst, and one stall of one of ten processes on two
   * cores moved the figure from 16 to 35 ms between runs of the same code.
   */
  slowSeconds: number;
}

interface Env {
  /** The publisher: the scanner's identity (its key signs each snapshot), as the scanner publishes. */
  bus: Bus;
  /** The operator's connection: stream and consumer reads (the scanner's key may not make them). */
  admin: Bus;
  servers: BenchServers;
  hook: Hook;
  mesh: BenchMesh;
  raw: RawJetStream;
  chain: BusChain;
  batch: number;
  /** The processes whose CPU per event is reported: the services, nats-server, redis-server. */
  pids: () => Map<string, number>;
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

/** What each process (and this one: publisher and receiver) spent per event while `work` ran. */
interface PerEvent {
  /** CPU ms. */
  cpu: Map<string, number>;
  /** Write system calls. */
  writes: Map<string, number>;
  /** Sleeps ended by a wake-up (voluntary context switches). */
  wakeups: Map<string, number>;
}

async function perEvent(env: Env, events: number, work: () => Promise<void>): Promise<PerEvent> {
  const pids = env.pids();
  const all = new Map(pids).set("bench", process.pid);
  const cpu0 = new Map([...pids].map(([n, p]) => [n, cpuMs(p)]));
  const sys0 = new Map([...all].map(([n, p]) => [n, sysCounts(p)]));
  const self = process.cpuUsage();
  await work();
  const used = process.cpuUsage(self);
  const out: PerEvent = {
    cpu: new Map([...pids].map(([n, p]) => [n, (cpuMs(p) - (cpu0.get(n) ?? 0)) / events])),
    writes: new Map(),
    wakeups: new Map(),
  };
  out.cpu.set("bench", (used.user + used.system) / 1000 / events);
  for (const [n, p] of all) {
    const [b, now] = [sys0.get(n), sysCounts(p)];
    out.writes.set(n, (now.writes - (b?.writes ?? 0)) / events);
    out.wakeups.set(n, (now.wakeups - (b?.wakeups ?? 0)) / events);
  }
  return out;
}

/** Publishes the snapshot of one path: into the mesh, or into the bus chain. */
type Send = (path: string) => Promise<unknown>;

/** Events/s from the first publish to the last firing alert received, and the CPU each process spent per event. */
async function throughput(
  env: Env,
  count: number,
  send: Send = (p) => publish(env, p),
): Promise<{ perSec: number } & PerEvent> {
  const paths = freshPaths(env, count);
  let perSec = 0;
  const used = await perEvent(env, count, async () => {
    const t0 = performance.now();
    const all = env.hook.waitAll(paths, 120_000);
    await pool(count, IN_FLIGHT, (i) => send(paths[i] as string));
    await all;
    const arrived = paths.map((p) => env.hook.arrivals.get(p)).filter((t): t is number => t !== undefined);
    if (arrived.length < count)
      throw new Error(`pipeline: ${count - arrived.length} of ${count} snapshots never reached the webhook`);
    perSec = (count * 1000) / (Math.max(...arrived) - t0);
    // The CPU an event costs includes what trails its delivery (triage, receipts).
    await settle(env);
  });
  return { perSec, ...used };
}

/** Snapshot published -> webhook received (ms) at `rate` events/s; lost events count at the deadline. */
async function latency(
  env: Env,
  rate: number,
  seconds: number,
  deadlineMs = 30_000,
  send: Send = (p) => publish(env, p),
): Promise<LatencyResult> {
  return (await latencyRun(env, rate, seconds, deadlineMs, send)).result;
}

/** The same, also split into stages by the stream's own timestamps (bench/stages.ts). */
async function latencyStages(
  env: Env,
  rate: number,
  seconds: number,
): Promise<LatencyResult & { stages?: StageLatency }> {
  const fromSeq = (await (await raw(env.admin).manager()).streams.info(STREAM.name)).state.last_seq + 1;
  const { result, paths } = await latencyRun(env, rate, seconds, 30_000, (p) => publish(env, p));
  const epoch = (t: number | undefined) => (t === undefined ? undefined : performance.timeOrigin + t);
  const stages = await stageLatency(raw(env.admin).js, fromSeq, paths, (p) => epoch(env.hook.arrivals.get(p)));
  return { ...result, stages };
}

async function latencyRun(
  env: Env,
  rate: number,
  seconds: number,
  deadlineMs: number,
  send: Send,
): Promise<{ result: LatencyResult; paths: string[] }> {
  const paths = freshPaths(env, Math.max(1, Math.round(rate * seconds)));
  const sent = new Float64Array(paths.length);
  await paced(paths.length, rate, (i) => {
    sent[i] = performance.now();
    return send(paths[i] as string);
  });
  await env.hook.waitAll(paths, deadlineMs);
  const lat = paths.map((p, i) => {
    const at = env.hook.arrivals.get(p);
    return at === undefined ? deadlineMs : at - (sent[i] as number);
  });
  const lost = paths.filter((p) => !env.hook.arrivals.has(p)).length;
  return { result: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), lost }, paths };
}

/**
 * Waits until the mesh is quiet: no new message in the MIRROR stream for `quietMs`, nothing
 * pending for any consumer, and no webhook request. A run's leftovers (triage updates, receipts)
 * must not load the next one. Gives up after `maxMs`.
 */
async function settle(env: Env, quietMs = 1_000, maxMs = 90_000): Promise<void> {
  const jsm = await raw(env.admin).manager();
  const state = async () => {
    let pending = 0;
    // The services' durable consumers; an ephemeral one (the stage reader's) lingers a while after use.
    for await (const c of jsm.consumers.list(STREAM.name))
      if (c.config.durable_name) pending += c.num_pending + c.num_ack_pending;
    return { seq: (await jsm.streams.info(STREAM.name)).state.last_seq, pending, requests: env.hook.requests };
  };
  const end = performance.now() + maxMs;
  let last = await state();
  while (performance.now() < end) {
    await sleep(quietMs);
    const now = await state();
    if (now.pending === 0 && now.seq === last.seq && now.requests === last.requests) return;
    last = now;
  }
}

/** RSS of each service once it has been idle for a while (median of 3 samples a second apart). */
async function idleRss(mesh: BenchMesh, quick = false): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>();
  // Startup garbage (module compilation) stays until V8's memory reducer collects it, some
  // seconds after the allocation rate drops; idle means after that.
  await sleep(quick ? 0 : 10_000);
  for (let i = 0; i < 3; i++) {
    await sleep(1_000);
    for (const [name, pid] of servicePids(mesh.mesh.child.pid ?? 0, mesh.names))
      samples.set(name, [...(samples.get(name) ?? []), rssMB(pid)]);
  }
  return new Map([...samples].map(([n, v]) => [n, median(v)]));
}

interface Run {
  tp: number;
  cpu: Map<string, number>;
  /** Write system calls and wake-ups per event of each process in the throughput run. */
  writes: Map<string, number>;
  wakeups: Map<string, number>;
  lat: LatencyResult;
  /** Latency at half the measured throughput, split into stages. */
  calm: LatencyResult & { stages?: StageLatency };
  /** Latency at a home server's pace (SLOW_RATE events/s), split into stages. */
  slow: LatencyResult & { stages?: StageLatency };
  peak: Map<string, number>;
  /** Deliveries by the mesh's durable consumers over the run, and how many of them were redeliveries. */
  deliveries: number;
  redeliveries: number;
  /** NATS messages and Redis commands per event over the throughput run. */
  ops: OpCounts;
}

/** Median CPU ms per event of each process over the runs, keyed `cpuMsPerEvent.<process>`. */
function cpuExtra(runs: { cpu: Map<string, number> }[]): Record<string, number> {
  return perProcess("cpuMsPerEvent.", runs, (r) => r.cpu);
}

/** The median over the runs of a per-process figure, keyed `<prefix><process>`. */
function perProcess<R>(prefix: string, runs: R[], of: (r: R) => Map<string, number>): Record<string, number> {
  const names = [...new Set(runs.flatMap((r) => [...of(r).keys()]))];
  return Object.fromEntries(names.map((n) => [`${prefix}${n}`, median(runs.map((r) => of(r).get(n) ?? Number.NaN))]));
}

const prefixed = (prefix: string, o: Record<string, number>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [`${prefix}${k}`, v]));

/** The processes a baseline's CPU is counted in: the server and this one (publisher, receiver, chain stages). */
const BASELINE_PROCS = ["nats-server", "bench"];
const sum = (cpu: Map<string, number>, names?: string[]) =>
  [...cpu].filter(([n]) => !names || names.includes(n)).reduce((a, [, ms]) => a + ms, 0);

/** One baseline run: jetstream.raw, and the bus chain floor (bench/chain.ts) with its CPU per event. */
interface Base {
  tp: number;
  /** CPU ms per event of jetstream.raw's throughput run: nats-server and this process. */
  rawCpu: number;
  lat: LatencyResult;
  chain: number;
  chainCpu: Map<string, number>;
  /** Write system calls and wake-ups per event of the bus chain: nats-server and this process. */
  chainWrites: number;
  chainWakeups: number;
  chainLat: LatencyResult;
  /** The bus chain at SLOW_RATE events/s. */
  chainSlow: LatencyResult;
}

function pipelineFigures(sizes: Sizes, runs: Run[], base: Base[]): Figure[] {
  const chain = median(base.map((b) => b.chain));
  const raw = median(base.map((b) => b.tp));
  return [
    figure({
      id: "pipeline.throughput",
      unit: "events/s",
      runs: runs.map((r) => r.tp),
      baseline: "jetstream.raw",
      baselineRuns: base.map((b) => b.tp),
      goal: { on: "ratio", op: ">=", limit: THROUGHPUT_GOAL },
      note: `${sizes.count} snapshots, ${IN_FLIGHT} publishes in flight, each opening a loop delivered to the webhook; baseline: bare JetStream publish + durable consume of the same payloads; extra: CPU ms per event by process and summed over all of them (cpuMsPerEventAll), and busChain: the same bus traffic per event (4 publishes, 3 durable consumes, a request/reply, the POST) with nothing else, its ratio to the baseline and its CPU per event (bench: publisher, receiver and the three stages); the baseline's CPU per event (nats-server and its client); goalCpuBudgetMsPerEvent: the CPU an event may cost, all processes together, for the goal's rate to fit in this machine's cores`,
      extra: {
        ...cpuExtra(runs),
        cpuMsPerEventAll: median(runs.map((r) => sum(r.cpu))),
        busChain: chain,
        busChainRatio: chain / raw,
        "busChain.cpuMsPerEvent.nats-server": median(base.map((b) => b.chainCpu.get("nats-server") ?? Number.NaN)),
        "busChain.cpuMsPerEvent.bench": median(base.map((b) => b.chainCpu.get("bench") ?? Number.NaN)),
        "busChain.cpuMsPerEventAll": median(base.map((b) => sum(b.chainCpu, BASELINE_PROCS))),
        "busChain.writesPerEvent": median(base.map((b) => b.chainWrites)),
        "busChain.wakeupsPerEvent": median(base.map((b) => b.chainWakeups)),
        "jetstream.raw.cpuMsPerEvent": median(base.map((b) => b.rawCpu)),
        goalCpuBudgetMsPerEvent: (availableParallelism() * 1000) / (THROUGHPUT_GOAL * raw),
      },
    }),
    latencyFigure(sizes, runs, base),
    figure({
      id: "pipeline.cpu_ms_per_event",
      unit: "ms",
      runs: runs.map((r) => sum(r.cpu)),
      baseline: "jetstream.raw",
      baselineRuns: base.map((b) => b.rawCpu),
      goal: { on: "value", op: "<=", limit: CPU_GOAL_MS },
      note: "CPU ms per event over every process (services, nats-server, redis-server, the bench's publisher and receiver) in the throughput run, identity on; baseline: bare JetStream publish + consume (nats-server and its client); extra: per process, and the operations per event (NATS messages into and out of nats-server, Redis commands, and each process's write system calls and wake-ups: on a small VM a write that wakes its reader costs more than the message)",
      extra: {
        ...cpuExtra(runs),
        "ops.natsInPerEvent": median(runs.map((r) => r.ops.natsIn)),
        "ops.natsOutPerEvent": median(runs.map((r) => r.ops.natsOut)),
        "ops.redisCommandsPerEvent": median(runs.map((r) => r.ops.redisCommands)),
        "ops.natsInKBPerEvent": median(runs.map((r) => r.ops.natsInBytes / 1024)),
        "ops.natsOutKBPerEvent": median(runs.map((r) => r.ops.natsOutBytes / 1024)),
        "ops.redisInKBPerEvent": median(runs.map((r) => r.ops.redisInBytes / 1024)),
        "ops.redisOutKBPerEvent": median(runs.map((r) => r.ops.redisOutBytes / 1024)),
        ...perProcess("ops.writesPerEvent.", runs, (r) => r.writes),
        "ops.writesPerEventAll": median(runs.map((r) => sum(r.writes))),
        ...perProcess("ops.wakeupsPerEvent.", runs, (r) => r.wakeups),
        "ops.wakeupsPerEventAll": median(runs.map((r) => sum(r.wakeups))),
      },
    }),
    figure({
      id: "pipeline.redeliveries",
      unit: "messages",
      runs: runs.map((r) => r.redeliveries),
      baseline: "deliveries",
      baselineRuns: runs.map((r) => r.deliveries),
      goal: { on: "value", op: "<=", limit: 0 },
      note: "messages the services' durable consumers were delivered more than once over a run (the throughput run and the three latency runs; no process is killed and no handler fails, so every one is an ack wait that ran out); baseline: all their deliveries in the run, so the ratio is the share that were redeliveries",
    }),
  ];
}

/** p99 at a home server's pace (SLOW_RATE events/s); it must also stay under 100 ms at half the measured maximum. */
function latencyFigure(sizes: Sizes, runs: Run[], base: Base[]): Figure {
  const f = figure({
    id: "pipeline.latency_p99_ms",
    unit: "ms",
    runs: runs.map((r) => r.slow.p99),
    baseline: "jetstream.raw",
    baselineRuns: base.map((b) => b.lat.p99),
    goal: { on: "value", op: "<=", limit: 25 },
    note: `snapshot published -> webhook received at ${SLOW_RATE} events/s, identity on, groupWait 0s (ok also needs p99AtHalfThroughput <= 100 ms); baseline: bare JetStream publish -> consume at ${sizes.rate} events/s; extra: at ${sizes.rate} events/s for ${sizes.seconds}s, at half the measured throughput (no queue) and at ${SLOW_RATE} events/s, each split by the stream's timestamps into detect (snapshot stored -> loop.opened stored: the loop-detector) and notify (loop.opened stored -> webhook received: the notifier), and through the bus chain (see pipeline.throughput) at the full rate and at ${SLOW_RATE} events/s`,
    extra: {
      [`p99At${sizes.rate}PerSec`]: median(runs.map((r) => r.lat.p99)),
      [`p50At${sizes.rate}PerSec`]: median(runs.map((r) => r.lat.p50)),
      lost: Math.max(...runs.map((r) => r.lat.lost)),
      baselineP50: median(base.map((b) => b.lat.p50)),
      busChainP99: median(base.map((b) => b.chainLat.p99)),
      busChainP50: median(base.map((b) => b.chainLat.p50)),
      [`busChainP99At${SLOW_RATE}PerSec`]: median(base.map((b) => b.chainSlow.p99)),
      [`busChainP50At${SLOW_RATE}PerSec`]: median(base.map((b) => b.chainSlow.p50)),
      p99AtHalfThroughput: median(runs.map((r) => r.calm.p99)),
      p50AtHalfThroughput: median(runs.map((r) => r.calm.p50)),
      ...stageExtra(
        "atHalfThroughput",
        runs.map((r) => r.calm.stages),
      ),
      [`p99At${SLOW_RATE}PerSec`]: median(runs.map((r) => r.slow.p99)),
      [`p50At${SLOW_RATE}PerSec`]: median(runs.map((r) => r.slow.p50)),
      ...stageExtra(
        `at${SLOW_RATE}PerSec`,
        runs.map((r) => r.slow.stages),
      ),
    },
  });
  return { ...f, ok: f.ok && (f.extra?.p99AtHalfThroughput ?? Number.POSITIVE_INFINITY) <= 100 };
}

/** rss.<service>: the peak under load must be under the goal, and so must the idle RSS. */
function rssFigures(runs: Run[], idle: Map<string, number>, bare: number[], names: readonly string[]): Figure[] {
  const out: Figure[] = [];
  for (const name of names) {
    const peaks = runs.map((r) => r.peak.get(name) ?? Number.NaN);
    const f = figure({
      id: `rss.${name}`,
      unit: "MB",
      runs: peaks,
      baseline: "node.idle",
      baselineRuns: bare,
      goal: { on: "value", op: "<", limit: RSS_GOAL_MB },
      note: "peak resident memory under the pipeline load (idle in extra.idle); baseline: an idle plain `node` process (services run from their bundle, without tsx)",
      extra: { idle: idle.get(name) ?? Number.NaN },
    });
    out.push({ ...f, ok: f.ok && (idle.get(name) ?? Number.POSITIVE_INFINITY) < RSS_GOAL_MB });
  }
  return out;
}

async function measure(env: Env, sizes: Sizes, opts: BenchOptions): Promise<{ figures: Figure[]; runs: Run[] }> {
  const log = opts.log ?? (() => {});
  const idle = await idleRss(env.mesh, opts.quick);
  const bare = [await bareNodeRss(), await bareNodeRss(), await bareNodeRss()];
  log(
    `idle RSS ${[...idle].map(([n, v]) => `${n} ${v.toFixed(0)}MB`).join(", ")}; bare node ${median(bare).toFixed(0)}MB`,
  );
  const root = env.mesh.mesh.child.pid ?? 0;
  const { runs, base } = await interleave<Run, Base>(
    opts,
    async (i) => {
      // The warm-up (i < 0) pushes whole throughput runs through until the services are warm,
      // then short latency runs. The services' CPU per event falls for ~5,000 events (JIT tiers,
      // heap sizing): 382, 519, 614, 676, 689 events/s over five warm-up runs of 1,000, then flat;
      // with one warm-up run, run 0 < run 1 < run 2 every time and the median was a cold figure.
      const scale = i < 0 ? 0.2 : 1;
      // The previous run (or warm-up) ended settled: a quiet moment to count deliveries from.
      const counted = await deliveryCount(await raw(env.admin).manager());
      const sampler = rssSampler(root, env.mesh.names);
      for (let w = 0; i < 0 && w < WARM_UP_RUNS - 1; w++) {
        const r = await throughput(env, sizes.count);
        log(`pipeline warm-up ${w}: ${r.perSec.toFixed(0)} events/s`);
      }
      const ops0 = await opCounts(env.servers);
      const { perSec: tp, cpu, writes, wakeups } = await throughput(env, sizes.count);
      const ops = opsPerEvent(ops0, await opCounts(env.servers), sizes.count);
      const lat = await latency(env, sizes.rate, sizes.seconds * scale);
      await settle(env);
      // The same at half the throughput just measured: the latency of the path itself, without a queue.
      const calm = await latencyStages(env, Math.max(1, Math.round(tp / 2)), sizes.calmSeconds * scale);
      await settle(env);
      const slow = await latencyStages(env, SLOW_RATE, sizes.slowSeconds * scale);
      await settle(env);
      const peak = sampler.stop();
      const { redeliveries, deliveries } = redeliveriesBetween(
        counted,
        await deliveryCount(await raw(env.admin).manager()),
      );
      log(
        `pipeline run ${i}: ${tp.toFixed(0)} events/s, p99 ${lat.p99.toFixed(1)}ms (p50 ${lat.p50.toFixed(1)}, lost ${lat.lost}); at ${Math.round(tp / 2)}/s p99 ${calm.p99.toFixed(1)}ms`,
      );
      log(`CPU ms per event: ${[...cpu].map(([n, ms]) => `${n} ${ms.toFixed(2)}`).join(", ")}`);
      log(
        `  stages at ${Math.round(tp / 2)}/s: ${describeStages(calm.stages)}; at ${SLOW_RATE}/s: p50 ${slow.p50.toFixed(1)}ms p99 ${slow.p99.toFixed(1)}ms, ${describeStages(slow.stages)}`,
      );
      log(`  ${redeliveries} redeliveries in ${deliveries} deliveries to the services' durable consumers`);
      log(
        `  write system calls / wake-ups per event: ${[...writes].map(([n, w]) => `${n} ${w.toFixed(1)}/${(wakeups.get(n) ?? Number.NaN).toFixed(1)}`).join(", ")}`,
      );
      log(
        `  per event: ${ops.natsIn.toFixed(1)} NATS messages in, ${ops.natsOut.toFixed(1)} out (${(ops.natsInBytes / 1024).toFixed(1)} / ${(ops.natsOutBytes / 1024).toFixed(1)} kB), ${ops.redisCommands.toFixed(1)} Redis commands (${(ops.redisInBytes / 1024).toFixed(1)} kB in, ${(ops.redisOutBytes / 1024).toFixed(1)} kB out)`,
      );
      return { tp, cpu, writes, wakeups, lat, calm, slow, peak, deliveries, redeliveries, ops };
    },
    async (i) => {
      let tp = 0;
      const rawCpu = await perEvent(env, sizes.count, async () => {
        tp = await env.raw.throughput(payloads(freshPaths(env, sizes.count)), IN_FLIGHT);
      });
      const lat = await env.raw.latency(payloads(freshPaths(env, Math.round(sizes.rate * sizes.seconds))), sizes.rate);
      // The bus chain (bench/chain.ts): the bus traffic of the pipeline and nothing else.
      const run = await env.chain.start(env.hook);
      try {
        const send: Send = (p) => run.publish(payloads([p])[0] as Uint8Array);
        const chain = await throughput(env, sizes.count, send);
        const chainLat = await latency(env, sizes.rate, sizes.seconds, 30_000, send);
        // The same at a home server's pace: what the bus alone costs the 50 events/s goal on this machine.
        const chainSlow = await latency(env, SLOW_RATE, sizes.slowSeconds * (i < 0 ? 0.2 : 1), 30_000, send);
        log(
          `jetstream.raw run ${i}: ${tp.toFixed(0)} events/s, p99 ${lat.p99.toFixed(1)}ms; bus chain ${chain.perSec.toFixed(0)} events/s, p99 ${chainLat.p99.toFixed(1)}ms, at ${SLOW_RATE}/s p50 ${chainSlow.p50.toFixed(1)}ms p99 ${chainSlow.p99.toFixed(1)}ms`,
        );
        return {
          tp,
          rawCpu: sum(rawCpu.cpu, BASELINE_PROCS),
          lat,
          chain: chain.perSec,
          chainCpu: chain.cpu,
          chainWrites: sum(chain.writes, BASELINE_PROCS),
          chainWakeups: sum(chain.wakeups, BASELINE_PROCS),
          chainLat,
          chainSlow,
        };
      } finally {
        await run.stop();
      }
    },
  );
  return { figures: [...pipelineFigures(sizes, runs, base), ...rssFigures(runs, idle, bare, env.mesh.names)], runs };
}

/** One mesh on its own servers, with its publisher, operator and baselines connected. */
async function openEnv(identity: boolean, hook: Hook, cleanup: Array<() => Promise<unknown>>): Promise<Env> {
  const servers = await startBenchServers(identity);
  cleanup.push(() => servers.dispose());
  const mesh = await startBenchMesh({
    natsUrl: servers.nats.url,
    redisUrl: servers.redis.url,
    hookUrl: hook.url,
    extraEnv: servers.env,
  });
  cleanup.push(() => mesh.stop());
  // The snapshots are the scanner's: signed by its key, on its subjects, as the scanner publishes them.
  const bus = await benchBus("scanner", servers);
  cleanup.push(() => bus.close());
  const admin = identity ? await benchBus("operator", servers) : bus;
  if (identity) cleanup.push(() => admin.close());
  const raw = await RawJetStream.open(servers.nats.url);
  cleanup.push(() => raw.close());
  const chain = await BusChain.open(servers.nats.url);
  cleanup.push(() => chain.close());
  const pids = () =>
    servicePids(mesh.mesh.child.pid ?? 0, mesh.names)
      .set("nats-server", serverPid(servers.nats.port) ?? 0)
      .set("redis-server", serverPid(servers.redis.port) ?? 0);
  return { bus, admin, servers, hook, mesh, raw, chain, batch: 0, pids };
}

/**
 * What identity costs: CPU per event over every process with identity on against the same
 * throughput run with identity off (the old unsigned configuration, on its own servers). Both
 * meshes stay up and their runs alternate (secured, unsigned, secured, ...), so a change in the
 * machine's speed hits both alike: the VM's speed drifted up to 2x within an hour, and the ratio
 * of runs made minutes apart read 0.97 in one bench and 1.52 in the next with nothing changed.
 */
async function identityOverhead(secured: Env, unsigned: Env, sizes: Sizes, opts: BenchOptions): Promise<Figure> {
  type Paired = { tp: number; cpuAll: number; cpu: Map<string, number> };
  const { runs, base } = await interleave<Paired, Paired>(
    opts,
    async (i) => {
      const r = await throughput(secured, sizes.count);
      opts.log?.(`secured run ${i}: ${r.perSec.toFixed(0)} events/s, ${sum(r.cpu).toFixed(2)} CPU ms per event`);
      return { tp: r.perSec, cpuAll: sum(r.cpu), cpu: r.cpu };
    },
    async (i) => {
      // The unsigned mesh is new: warmed as the secured one was (see measure()).
      for (let w = 0; i < 0 && w < WARM_UP_RUNS - 1; w++) await throughput(unsigned, sizes.count);
      const r = await throughput(unsigned, sizes.count);
      opts.log?.(`unsigned run ${i}: ${r.perSec.toFixed(0)} events/s, ${sum(r.cpu).toFixed(2)} CPU ms per event`);
      return { tp: r.perSec, cpuAll: sum(r.cpu), cpu: r.cpu };
    },
  );
  return figure({
    id: "pipeline.identity_overhead",
    unit: "ms",
    runs: runs.map((r) => r.cpuAll),
    baseline: "pipeline.unsigned",
    baselineRuns: base.map((r) => r.cpuAll),
    goal: { on: "ratio", op: "<=", limit: IDENTITY_OVERHEAD_GOAL },
    note: "CPU ms per event over every process with identity on (signed, verified, permissions enforced, Redis ACL users), against the same throughput runs with MIRROR_IDENTITY=off (anonymous, unsigned) on their own servers, the two alternating with both meshes up; extra: the throughput and the CPU ms per event of each process, of each",
    extra: {
      unsignedThroughput: median(base.map((r) => r.tp)),
      securedThroughput: median(runs.map((r) => r.tp)),
      ...prefixed("secured.", cpuExtra(runs)),
      ...prefixed("unsigned.", cpuExtra(base)),
    },
  });
}

export const pipelineBench: Bench = {
  name: "pipeline",
  figures: [
    "pipeline.throughput",
    "pipeline.latency_p99_ms",
    "pipeline.cpu_ms_per_event",
    "pipeline.redeliveries",
    "pipeline.identity_overhead",
    "rss.",
  ],
  async run(opts) {
    const sizes: Sizes = opts.quick
      ? { count: 50, rate: 100, seconds: 1, calmSeconds: 1, slowSeconds: 1 }
      : { count: 1_000, rate: 1_000, seconds: 1, calmSeconds: 3, slowSeconds: 10 };
    const hook = await startHook();
    const cleanup: Array<() => Promise<unknown>> = [];
    const close = async () => {
      for (const step of cleanup.reverse()) await step().catch(() => undefined);
      cleanup.length = 0;
    };
    try {
      // The deployed configuration (compose, pnpm start): identity on.
      const env = await openEnv(true, hook, cleanup);
      opts.log?.("mesh started (identity on)");
      const { figures } = await measure(env, sizes, opts);
      // The secured mesh stays up beside the unsigned one: their runs alternate.
      const unsigned = await openEnv(false, hook, cleanup);
      opts.log?.("mesh started (identity off)");
      return [...figures, await identityOverhead(env, unsigned, sizes, opts)];
    } finally {
      await close();
      await hook.close();
    }
  },
};
