/**
 * Footprint (issue 25): the whole process tree of `pnpm start` as a new user runs it (pnpm
 * itself, the supervisor, the services, and the embedded nats-server and redis-server it starts,
 * with identity on) watching 100 git repositories and running 100 HTTP checks (30 s interval),
 * measured once nothing changes any more:
 *
 * - footprint.single_rss_mb: RSS of the tree of `pnpm start --single` after 60 s idle (goal <= 160),
 *   the median of three starts
 * - footprint.multi_rss_mb: the same for `pnpm start`, the services in the processes their
 *   manifests name (goal <= 400)
 * - footprint.idle_cpu_pct: CPU of the --single tree over the next three 60 s windows, % of one
 *   core (goal <= 2): the median window, so one that holds the scanner's pass or a mark-compact
 *   (~0.25% more) does not decide it alone
 *
 * Baseline: an idle bare node process (`node.idle`), the floor of every Node process in the tree.
 * extra: the RSS and the PSS of each process of the tree (by role) and the tree's PSS, which
 * counts pages shared between processes (the node binary's code) once.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadManifests, startOrder } from "../packages/cli/src/manifests.js";
import {
  descendants,
  freePort,
  makeRepo,
  type Mesh,
  sharedServices,
  startMesh,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { type Bench, type BenchOptions, figure, median } from "./figure.js";
import { sleep } from "./load.js";
import { bareNodeRss, cpuMs, rssMB } from "./procs.js";
import { startServer } from "./tracker.js";

const SERVICE_NAMES = startOrder(await loadManifests()).map((m) => m.name);

/** How long a mesh settles before the RSS is read, and the CPU window after it (5 s in a quick run). */
const idleMs = (opts: BenchOptions) => (opts.quick ? 5_000 : 60_000);

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** PSS of a process in MB (pages shared with other processes counted by share). */
function pssMB(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(read(`/proc/${pid}/smaps_rollup`));
  return m ? Number(m[1]) / 1024 : 0;
}

/** What a process of the tree is, for the per-process breakdown. */
function role(pid: number): string {
  const cmd = read(`/proc/${pid}/cmdline`).split("\0").join(" ");
  if (cmd.startsWith("nats-server")) return "nats-server";
  if (cmd.startsWith("redis-server")) return "redis-server";
  if (/^pnpm\b|\/pnpm\b/.test(cmd.split(" ")[0] ?? "")) return "pnpm";
  if (/^(\/bin\/)?sh /.test(cmd)) return "sh";
  // A process of several services (`pnpm start`'s shared processes): named by the services it runs.
  const members = sharedServices(cmd);
  if (members) return `services ${members.join("+")}`;
  if (cmd.includes("cli/bin/mirror.mjs")) return "supervisor";
  const svc = /\/([a-z-]+)\.mjs(\s|$)/.exec(cmd)?.[1];
  return svc ? `service ${svc}` : (cmd.split(" ")[0] ?? "?");
}

const tree = (mesh: Mesh) => [mesh.child.pid as number, ...descendants(mesh.child.pid as number)];

async function makeRepos(root: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const dir = makeRepo(join(root, `repo-${String(i).padStart(3, "0")}`));
    // A few dirty ones: their loops open at start and stay, as on a real box.
    if (i % 10 === 0) writeFileSync(join(dir, "notes.txt"), "unfinished\n");
  }
}

interface Sample {
  rssMB: number;
  pssMB: number;
  /** CPU of the tree in each window, % of one core. */
  cpuPcts: number[];
  byRole: Record<string, number>;
  pssByRole: Record<string, number>;
}

/** One mesh: started, settled (idleMs), then RSS read and CPU measured over `windows` windows as long again. */
async function measure(
  single: boolean,
  repos: number,
  checks: number,
  windows: number,
  opts: BenchOptions,
): Promise<Sample> {
  const IDLE_MS = idleMs(opts);
  const root = tempDir("mirror-bench-footprint-");
  await makeRepos(root, repos);
  const server = await startServer();
  const [nats, redis, ...ports] = await Promise.all(Array.from({ length: 8 }, () => freePort()));
  const checkList = Array.from(
    { length: checks },
    (_, i) =>
      `    - { name: c${i}, interval: 30s, http: { url: "${server.url}?i=${i}", timeout: 5s }, conditions: ["status == 200"] }`,
  );
  const yaml = `scanner: { port: ${ports[0]}, roots: [ "${root}" ] }
tracker:
  port: ${ports[1]}
  checks:
${checkList.join("\n")}
loops: { port: ${ports[2]} }
notifier: { port: ${ports[3]} }
model: { port: ${ports[4]} }
console: { port: ${ports[5]} }
`;
  // Nothing listens on these ports: pnpm start runs the embedded servers, in its own tree.
  const mesh = startMesh(yaml, {
    env: {
      MIRROR_NATS_URL: `nats://127.0.0.1:${nats}`,
      MIRROR_REDIS_URL: `redis://127.0.0.1:${redis}`,
      MIRROR_HTTP_HOST: "127.0.0.1",
    },
    command: ["pnpm", "start", ...(single ? ["--single"] : [])],
  });
  try {
    await mesh.waitForLine(/^mirror: starting /, 240_000);
    await waitFor(
      "every service started",
      () => mesh.output.filter((l) => /"msg":"service started"/.test(l)).length >= SERVICE_NAMES.length,
      { timeout: 240_000, interval: 250 },
    );
    opts.log?.(`${single ? "--single" : "multi"}: started; settling ${IDLE_MS / 1000}s`);
    await sleep(IDLE_MS);
    const byRole: Record<string, number> = {};
    const pssByRole: Record<string, number> = {};
    let rss = 0;
    let pss = 0;
    for (const p of tree(mesh)) {
      const mb = rssMB(p);
      if (!Number.isFinite(mb)) continue;
      rss += mb;
      const share = pssMB(p);
      pss += share;
      const r = role(p);
      byRole[r] = (byRole[r] ?? 0) + mb;
      pssByRole[r] = (pssByRole[r] ?? 0) + share;
    }
    const cpuPcts: number[] = [];
    for (let w = 0; w < windows; w++) {
      const before = new Map(tree(mesh).map((p) => [p, cpuMs(p)]));
      const t0 = performance.now();
      await sleep(IDLE_MS);
      // The processes alive at both ends: a git the scanner ran in between is not counted.
      let used = 0;
      for (const [p, c0] of before) {
        const c1 = cpuMs(p);
        if (Number.isFinite(c0) && Number.isFinite(c1)) used += c1 - c0;
      }
      cpuPcts.push((used / (performance.now() - t0)) * 100);
    }
    opts.log?.(
      `${single ? "--single" : "multi"}: ${rss.toFixed(0)} MB RSS (${pss.toFixed(0)} MB PSS), ${cpuPcts.length ? `${cpuPcts.map((c) => c.toFixed(2)).join("%, ")}% of one core` : "no CPU window"}; ${Object.entries(
        byRole,
      )
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(", ")}`,
    );
    return { rssMB: rss, pssMB: pss, cpuPcts, byRole, pssByRole };
  } finally {
    await mesh.stop();
    server.child.kill();
  }
}

/** The start whose tree's RSS is the median of `starts` (the lower middle one of an even count). */
function medianStart(starts: Sample[]): Sample {
  const sorted = [...starts].sort((a, b) => a.rssMB - b.rssMB);
  return sorted[Math.floor((sorted.length - 1) / 2)] as Sample;
}

const round = (byRole: Record<string, number>, prefix: string) =>
  Object.fromEntries(
    Object.entries(byRole).map(([k, v]) => [`${prefix}.${k.replace(/\s+/g, "_")}`, Math.round(v * 10) / 10]),
  );

export const footprintBench: Bench = {
  name: "footprint",
  figures: ["footprint."],
  async run(opts: BenchOptions) {
    const [repos, checks] = opts.quick ? [5, 5] : [100, 100];
    const base = await bareNodeRss();
    // Three starts of each, alternated (one in a quick run): the same code's tree moved by ±5 MB
    // between starts on Node 20 and by ±10 on Node 24, so one start decided a figure near its goal.
    // The CPU windows are the first start's; the per-process extras are the median start's.
    const singles: Sample[] = [];
    const multis: Sample[] = [];
    for (let i = 0; i < (opts.quick ? 1 : 3); i++) {
      singles.push(await measure(true, repos, checks, i === 0 ? 3 : 0, opts));
      multis.push(await measure(false, repos, checks, i === 0 ? 1 : 0, opts));
    }
    const single = medianStart(singles);
    const multi = medianStart(multis);
    const singleCpu = singles[0]?.cpuPcts ?? [];
    const multiCpu = multis[0]?.cpuPcts ?? [];
    const IDLE_MS = idleMs(opts);
    const setup = `${repos} git repos (every tenth dirty), ${checks} HTTP checks at 30 s, identity on, the embedded nats-server and redis-server; the whole tree of pnpm start (pnpm included)`;
    return [
      figure({
        id: "footprint.single_rss_mb",
        unit: "MB",
        runs: singles.map((r) => r.rssMB),
        baseline: "node.idle",
        baselineRuns: [base],
        goal: { on: "value", op: "<=", limit: 160 },
        note: `pnpm start --single, ${setup}, RSS after ${IDLE_MS / 1000} s idle, the median of ${singles.length} starts`,
        extra: { pssMB: single.pssMB, ...round(single.byRole, "rss"), ...round(single.pssByRole, "pss") },
      }),
      figure({
        id: "footprint.multi_rss_mb",
        unit: "MB",
        runs: multis.map((r) => r.rssMB),
        baseline: "node.idle",
        baselineRuns: [base],
        goal: { on: "value", op: "<=", limit: 400 },
        note: `pnpm start (the processes the manifests name: intake, alerts, desk), ${setup}, RSS after ${IDLE_MS / 1000} s idle, the median of ${multis.length} starts`,
        // PSS counts the pages the Node processes share (the node binary's code, ICU) once: what the box pays.
        extra: {
          pssMB: multi.pssMB,
          cpuPct: median(multiCpu),
          ...round(multi.byRole, "rss"),
          ...round(multi.pssByRole, "pss"),
        },
      }),
      figure({
        id: "footprint.idle_cpu_pct",
        unit: "% of one core",
        runs: singleCpu,
        baseline: "one core",
        baselineRuns: [100],
        goal: { on: "value", op: "<=", limit: 2 },
        note: `pnpm start --single, ${setup}: CPU of every process of the tree over three windows of ${IDLE_MS / 1000} s after ${IDLE_MS / 1000} s idle (the median window)`,
      }),
    ];
  },
};
