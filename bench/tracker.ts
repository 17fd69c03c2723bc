/**
 * service-tracker figures (issues 4 and 11): the probe path (one heap scheduler, keep-alive
 * undici agents, conditions, damped status, JetStream publish) against a local HTTP server run
 * in its own process, so this process's CPU is the tracker's alone.
 *
 * tracker.checks: probes/s with every check always due, 50 in flight, vs bare undici `request`
 * at the same concurrency (goal ratio >= 0.5). tracker.cpu: % of one core used by 2,000 checks
 * at a 10 s interval (goal < 5), beside bare undici requests paced at the same rate.
 * tracker.cpu.mixed (issue 23): the same with 500 each of HTTP, TCP, DNS (a local UDP resolver
 * in its own process) and Redis (AUTH-less PING against a local redis-server) checks.
 * tracker.reload: milliseconds to apply a reload that changes 100 of 2,000 checks (goal < 1000),
 * with the unchanged checks' schedule untouched.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Bus } from "@mirror/bus";
import { createLogger, parseConfig, systemClock } from "@mirror/kit";
import { startNats, startRedis } from "@mirror/testkit";
import { Registry } from "prom-client";
import { Agent, request } from "undici";
import { compileChecks, scheduleActiveChecks } from "../services/service-tracker/src/active.js";
import { TrackerMetrics } from "../services/service-tracker/src/metrics.js";
import { RdapClient } from "../services/service-tracker/src/probes/domain.js";
import { HttpProber } from "../services/service-tracker/src/probes/http.js";
import { StatusPublisher } from "../services/service-tracker/src/publisher.js";
import { Scheduler } from "../services/service-tracker/src/scheduler.js";
import { StatusBook } from "../services/service-tracker/src/tracker.js";
import { type Bench, type BenchOptions, figure, interleave, runsFor } from "./figure.js";
import { sleep } from "./load.js";

const SERVER = `
const http = require("node:http");
const body = JSON.stringify({ status: "ok" });
const s = http.createServer((req, res) => { res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }); res.end(body); });
s.keepAliveTimeout = 60000;
s.listen(0, "127.0.0.1", () => process.stdout.write(String(s.address().port) + "\\n"));
`;

export async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim()));
    child.once("exit", (code) => reject(new Error(`bench server exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/health`, child };
}

/** A UDP DNS responder answering every A query with 127.0.0.1 (RFC 1035 wire format), in its own process. */
const DNS = `
const dgram = require("node:dgram");
const s = dgram.createSocket("udp4");
s.on("message", (q, r) => {
  let o = 12; while (o < q.length && q[o] !== 0) o += q[o] + 1; o += 5;
  const h = Buffer.from(q.subarray(0, 12)); h.writeUInt16BE(0x8580 | (q.readUInt16BE(2) & 0x0100), 2); h.writeUInt16BE(1, 4); h.writeUInt16BE(1, 6); h.writeUInt32BE(0, 8);
  const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
  s.send(Buffer.concat([h, q.subarray(12, o), rr]), r.port, r.address);
});
s.bind(0, "127.0.0.1", () => process.stdout.write(String(s.address().port) + "\\n"));
`;

async function startChild(script: string): Promise<{ port: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim()));
    child.once("exit", (code) => reject(new Error(`bench peer exited ${code}`)));
  });
  return { port, child };
}

interface Window {
  perSec: number;
  /** Share of one core (0..1) this process used. */
  cpuShare: number;
}

/** Measures probes (or calls) per second and this process's CPU over `ms`. */
async function window(done: () => Promise<number> | number, ms: number): Promise<Window> {
  const [d0, c0, t0] = [await done(), process.cpuUsage(), performance.now()];
  await sleep(ms);
  const [d1, c, t1] = [await done(), process.cpuUsage(c0), performance.now()];
  return { perSec: ((d1 - d0) * 1000) / (t1 - t0), cpuShare: (c.user + c.system) / 1000 / (t1 - t0) };
}

/** The tracker core running `checks` HTTP checks every `interval`; `window()` measures it. */
export async function startTracker(
  url: string,
  natsUrl: string,
  checks: number,
  interval: string,
  concurrency: number,
  kinds?: (i: number) => string,
) {
  const http = (i: number) =>
    `http: { url: "${url}?i=${i}", timeout: 5s }, conditions: ["status == 200", "body.status == ok", "latency < 2s"]`;
  const yaml = `tracker:\n  concurrency: ${concurrency}\n  checks:\n${Array.from({ length: checks }, (_, i) => `    - { name: c${i}, interval: ${interval}, ${kinds ? kinds(i) : http(i)} }`).join("\n")}`;
  const cfg = parseConfig(yaml, {}).tracker;
  const log = createLogger("bench", { write: () => true } as never, "silent");
  const registry = new Registry();
  const bus = await Bus.connect({ name: "bench-tracker", url: natsUrl, log, registry });
  const metrics = new TrackerMetrics(registry);
  const publisher = new StatusPublisher(bus, log);
  const book = new StatusBook({ clock: systemClock, log, metrics, publisher, resyncEvery: cfg.resyncEvery });
  const scheduler = new Scheduler(systemClock, { concurrency: cfg.concurrency, onError: () => undefined });
  const prober = new HttpProber({ maxBody: cfg.maxBody, now: () => Date.now() });
  const now = () => Date.now();
  const probes = async () =>
    ((await registry.getSingleMetric("mirror_tracker_probes_total")?.get())?.values ?? []).reduce(
      (a, v) => a + v.value,
      0,
    );
  const active = scheduleActiveChecks(compileChecks(cfg).checks, {
    scheduler,
    book,
    prober: { http: prober, rdap: new RdapClient({ now }), now },
    metrics,
    clock: systemClock,
    tracker: cfg,
  });
  return {
    window: (ms: number) => window(probes, ms),
    /** Applies `yaml`'s checks as a reload would; returns how long it took (ms). */
    reload: (next: string) => {
      const t0 = performance.now();
      active.apply(compileChecks(parseConfig(next, {}).tracker).checks);
      return performance.now() - t0;
    },
    yaml,
    stop: async () => {
      scheduler.stop();
      await publisher.close();
      await prober.close();
      await bus.close();
    },
  };
}

/** Bare undici `request` with `inFlight` always outstanding, for `ms`. */
async function bareUndici(url: string, inFlight: number, ms: number): Promise<Window> {
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  let done = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const res = await request(url, { dispatcher: agent });
      await res.body.text();
      done++;
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  await sleep(500);
  const w = await window(() => done, ms);
  stop = true;
  await Promise.all(workers);
  await agent.close();
  return w;
}

/** Bare undici `request` paced at `perSec`: `windows` measurements of `ms` after a warm-up. */
async function pacedUndici(url: string, perSec: number, windows: number, ms: number): Promise<Window[]> {
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  let done = 0;
  let owed = 0;
  const tick = setInterval(() => {
    for (owed += perSec / 100; owed >= 1; owed--) {
      request(url, { dispatcher: agent })
        .then((r) => r.body.text())
        .then(
          () => done++,
          () => undefined,
        );
    }
  }, 10);
  await sleep(2_000);
  const out: Window[] = [];
  for (let i = 0; i < windows; i++) out.push(await window(() => done, ms));
  clearInterval(tick);
  await agent.close();
  return out;
}

/** tracker.cpu: 2,000 checks at 10s, one tracker, a warm-up interval then `runs` windows. */
async function cpuFigure(url: string, natsUrl: string, opts: BenchOptions) {
  const ms = opts.quick ? 2_000 : 6_000;
  const t = await startTracker(url, natsUrl, 2_000, "10s", 64);
  const runs: Window[] = [];
  try {
    await sleep(opts.quick ? 3_000 : 11_000);
    for (let i = 0; i < runsFor(opts); i++) runs.push(await t.window(ms));
  } finally {
    await t.stop();
  }
  const rate = runs.reduce((a, r) => a + r.perSec, 0) / runs.length;
  const base = await pacedUndici(url, rate, runsFor(opts), ms);
  opts.log?.(
    `2,000 checks at 10s: ${rate.toFixed(0)} probes/s, CPU ${runs.map((r) => (r.cpuShare * 100).toFixed(2)).join(", ")}% (bare ${base.map((b) => (b.cpuShare * 100).toFixed(2)).join(", ")}%)`,
  );
  return figure({
    id: "tracker.cpu",
    unit: "% of one core",
    runs: runs.map((r) => r.cpuShare * 100),
    baseline: "undici paced",
    baselineRuns: base.map((b) => b.cpuShare * 100),
    goal: { on: "value", op: "<", limit: 5 },
    note: `2,000 HTTP checks at a 10 s interval (${rate.toFixed(0)} probes/s) with conditions and status publishing; baseline: bare undici requests paced at the same rate`,
    extra: { probesPerSec: rate },
  });
}

/** tracker.cpu.mixed: 2,000 checks at 10s, a quarter each HTTP, TCP, DNS and Redis; tracker.reload beside it. */
async function mixedFigures(url: string, natsUrl: string, opts: BenchOptions) {
  const ms = opts.quick ? 2_000 : 6_000;
  const [dns, redis] = await Promise.all([startChild(DNS), startRedis()]);
  const tcpPort = new URL(url).port;
  const kinds = (i: number) =>
    [
      `http: { url: "${url}?i=${i}", timeout: 5s }, conditions: ["status == 200", "latency < 2s"]`,
      `tcp: { host: 127.0.0.1, port: ${tcpPort} }`,
      `dns: { name: h${i}.bench.test, server: "127.0.0.1:${dns.port}" }, conditions: ["answers contains 127.0.0.1"]`,
      `redis: { url: "${redis.url}" }`,
    ][i % 4] as string;
  const runs: Window[] = [];
  const reloads: number[] = [];
  const t = await startTracker(url, natsUrl, 2_000, "10s", 64, kinds);
  try {
    await sleep(opts.quick ? 3_000 : 11_000);
    for (let i = 0; i < runsFor(opts); i++) {
      runs.push(await t.window(ms));
      // 100 of the 2,000 checks change (their interval), the rest keep their schedule.
      reloads.push(t.reload(t.yaml.replace(/(name: c(?:\d*[02468]0|0), interval: )10s/g, `$1${i % 2 ? 10 : 11}s`)));
    }
  } finally {
    await t.stop();
    dns.child.kill();
    await redis.dispose();
  }
  const rate = runs.reduce((a, r) => a + r.perSec, 0) / runs.length;
  const base = await pacedUndici(url, rate, runsFor(opts), ms);
  opts.log?.(
    `2,000 mixed checks at 10s: ${rate.toFixed(0)} probes/s, CPU ${runs.map((r) => (r.cpuShare * 100).toFixed(2)).join(", ")}%; reloads ${reloads.map((r) => r.toFixed(1)).join(", ")} ms`,
  );
  const mixed = figure({
    id: "tracker.cpu.mixed",
    unit: "% of one core",
    runs: runs.map((r) => r.cpuShare * 100),
    baseline: "undici paced",
    baselineRuns: base.map((b) => b.cpuShare * 100),
    goal: { on: "value", op: "<", limit: 5 },
    note: `2,000 checks at 10 s, 500 each HTTP, TCP, DNS (local UDP resolver) and Redis PING (${rate.toFixed(0)} probes/s); baseline: bare undici requests paced at the same rate`,
    extra: { probesPerSec: rate },
  });
  const reload = figure({
    id: "tracker.reload",
    unit: "ms",
    runs: reloads,
    baseline: "none (absolute goal)",
    baselineRuns: reloads.map(() => 1_000),
    goal: { on: "value", op: "<", limit: 1_000 },
    note: "applying a reload that changes 100 of 2,000 checks (compile, diff, reschedule the changed ones); the unchanged keep their schedule",
  });
  return [mixed, reload];
}

/** tracker.checks: every check always due (2,000 at 100ms), 50 in flight, alternating with bare undici. */
async function checksFigure(url: string, natsUrl: string, opts: BenchOptions) {
  const ms = opts.quick ? 1_500 : 3_000;
  const { runs, base } = await interleave(
    opts,
    async (i) => {
      const t = await startTracker(url, natsUrl, 2_000, "100ms", 50);
      try {
        await sleep(opts.quick ? 1_000 : 2_000);
        const w = await t.window(ms);
        opts.log?.(`run ${i}: ${w.perSec.toFixed(0)} probes/s`);
        return w.perSec;
      } finally {
        await t.stop();
      }
    },
    async (i) => {
      const w = await bareUndici(url, 50, ms);
      opts.log?.(`run ${i}: bare undici ${w.perSec.toFixed(0)} requests/s`);
      return w.perSec;
    },
  );
  return figure({
    id: "tracker.checks",
    unit: "checks/s",
    runs,
    baseline: "undici request",
    baselineRuns: base,
    goal: { on: "ratio", op: ">=", limit: 0.5 },
    note: "2,000 HTTP checks always due (100 ms interval), 50 in flight, against a local server in its own process; baseline: bare undici `request` at the same concurrency",
  });
}

export const trackerBench: Bench = {
  name: "tracker",
  figures: ["tracker.checks", "tracker.cpu", "tracker.cpu.mixed", "tracker.reload"],
  async run(opts: BenchOptions) {
    const nats = await startNats();
    const server = await startServer();
    try {
      const checks = await checksFigure(server.url, nats.url, opts);
      const cpu = await cpuFigure(server.url, nats.url, opts);
      const mixed = await mixedFigures(server.url, nats.url, opts);
      return [checks, cpu, ...mixed];
    } finally {
      server.child.kill();
      await nats.dispose();
    }
  },
};
