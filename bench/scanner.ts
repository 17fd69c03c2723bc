/**
 * scanner figures (issues 3 and 11): 1,000 generated repos, a full scan and a no-change rescan
 * by the real Scanner (discovery, fingerprints, git, JetStream publish), each beside a bare
 * `git status --porcelain=v2 --branch` loop over the same repos at the same concurrency, run
 * in this same process.
 *
 * Goals: full scan within 1.3x of the bare loop; no-change rescan under 0.1x of a full scan.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Bus } from "@mirror/bus";
import { ScannerConfig } from "@mirror/contracts";
import { createLogger, createStore, systemClock } from "@mirror/kit";
import { commitAll, git, makeRepo, startNats, startRedis, tempDir } from "@mirror/testkit";
import { Registry } from "prom-client";
import { discover } from "../services/scanner/src/discover.js";
import { ScannerMetrics } from "../services/scanner/src/metrics.js";
import { mapPool } from "../services/scanner/src/pool.js";
import { Scanner } from "../services/scanner/src/scanner.js";
import { type Bench, type BenchOptions, type Figure, figure, interleave, median } from "./figure.js";

/**
 * `count` repos: copies of one real repo (a few files, two commits); every third one dirty,
 * every tenth with an unmerged second branch (the scanner then runs for-each-ref as well).
 */
export function generateRepos(count: number): string {
  const root = tempDir("mirror-bench-scanner-");
  const template = makeRepo(join(root, ".template"), { "README.md": "bench\n", ".gitignore": "dist/\n" });
  mkdirSync(join(template, "src"));
  writeFileSync(join(template, "src", "a.ts"), "export {};\n");
  writeFileSync(join(template, "src", "b.ts"), "export const b = 1;\n");
  commitAll(template, "second");
  const branched = join(root, ".template-branched");
  cpSync(template, branched, { recursive: true });
  git(branched, "checkout", "-q", "-b", "feature");
  writeFileSync(join(branched, "src", "c.ts"), "export const c = 1;\n");
  commitAll(branched, "feature work");
  git(branched, "checkout", "-q", "main");
  for (let i = 0; i < count; i++) {
    const dir = join(root, `g${Math.floor(i / 100)}`, `repo-${i}`);
    mkdirSync(dir, { recursive: true });
    cpSync(i % 10 === 5 ? branched : template, dir, { recursive: true });
    if (i % 3 === 0) writeFileSync(join(dir, "src", "a.ts"), `export const dirty = ${i};\n`);
  }
  rmSync(template, { recursive: true });
  rmSync(branched, { recursive: true });
  return root;
}

function bareStatus(cwd: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("git", ["status", "--porcelain=v2", "--branch"], { cwd }, (err) => (err ? reject(err) : resolve())),
  );
}

/** The baseline: bare `git status` over every repo, `concurrency` at once; ms. */
async function bareLoop(repos: string[], concurrency: number): Promise<number> {
  const t = performance.now();
  await mapPool(repos, concurrency, bareStatus);
  return performance.now() - t;
}

/**
 * The same loop without Node: `xargs -P` forking git itself (`git -C`), as a shell user would
 * run it; ms. Reported beside the figure: Node's spawn forks the whole calling process, so the
 * baseline above is slower by the fork of a ~150 MB bench process per repo.
 */
function shellLoop(repos: string[], concurrency: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = execFile(
      "xargs",
      ["-0", "-P", String(concurrency), "-I{}", "git", "-C", "{}", "status", "--porcelain=v2", "--branch"],
      { maxBuffer: 256 * 1024 * 1024 },
      (err) => (err ? reject(err) : resolve(performance.now() - t)),
    );
    child.stdin?.end(`${repos.join("\0")}\0`);
  });
}

function figures(
  count: number,
  concurrency: number,
  runs: { full: number; rescan: number }[],
  base: { bare: number; shell: number }[],
): Figure[] {
  const full = runs.map((r) => r.full);
  const bare = base.map((b) => b.bare);
  const shell = median(base.map((b) => b.shell));
  return [
    figure({
      id: "scanner.full",
      unit: "ms",
      runs: full,
      baseline: "git status loop",
      baselineRuns: bare,
      goal: { on: "ratio", op: "<=", limit: 1.3 },
      note: `full (forced) scan of ${count} repos, ${concurrency} at once: discovery, fingerprints, git, JetStream publish; baseline: bare \`git status --porcelain=v2 --branch\` over the same repos spawned from this process; extra: the same loop run by xargs -P (no Node) and the scan's ratio to it`,
      extra: { shellLoopMs: shell, ratioToShellLoop: median(full) / shell },
    }),
    figure({
      id: "scanner.rescan",
      unit: "ms",
      runs: runs.map((r) => r.rescan),
      baseline: "scanner.full",
      baselineRuns: full,
      goal: { on: "ratio", op: "<=", limit: 0.1 },
      note: `scan of the same ${count} repos with nothing changed (fingerprints match, no git runs)`,
    }),
  ];
}

export const scannerBench: Bench = {
  name: "scanner",
  figures: ["scanner.full", "scanner.rescan"],
  async run(opts: BenchOptions) {
    const count = opts.quick ? 20 : 1_000;
    const concurrency = availableParallelism();
    const t = performance.now();
    const root = generateRepos(count);
    opts.log?.(`generated ${count} repos in ${((performance.now() - t) / 1000).toFixed(1)}s`);
    const [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const log = createLogger("scanner", { write: () => true } as never, "silent");
    const bus = await Bus.connect({ name: "scanner", url: nats.url, log, registry: new Registry() });
    const store = createStore(redis.url, "scanner", log);
    const config = ScannerConfig.parse({ roots: [root], concurrency, maxDepth: 3 });
    try {
      const repos = (await discover([root], config)).repos.map((r) => r.path);
      if (repos.length !== count) throw new Error(`generated ${count} repos, discovery found ${repos.length}`);
      // The warm-up (i < 0) scans the first folder of 100 repos only: a full pass of 1,000 costs
      // as much as a measured run and teaches the JIT nothing more.
      const warm = join(root, "g0");
      const warmConfig = ScannerConfig.parse({ roots: [warm], concurrency, maxDepth: 3 });
      const { runs, base } = await interleave(
        opts,
        async (i) => {
          const scanner = new Scanner({
            bus,
            store,
            log,
            clock: systemClock,
            metrics: new ScannerMetrics(new Registry()),
            config: i < 0 ? warmConfig : config,
          });
          const f = await scanner.scanAll({ force: true });
          await scanner.scanAll();
          const r = await scanner.scanAll();
          if (r.read !== 0) throw new Error(`no-change rescan read ${r.read} repos with git`);
          opts.log?.(`run ${i}: full ${f.durationMs}ms, rescan ${r.durationMs}ms`);
          return { full: f.durationMs, rescan: r.durationMs };
        },
        async (i) => {
          const these = i < 0 ? repos.filter((r) => r.startsWith(`${warm}/`)) : repos;
          const bare = await bareLoop(these, concurrency);
          const shell = await shellLoop(these, concurrency);
          opts.log?.(`run ${i}: bare git status loop ${bare.toFixed(0)}ms, by xargs ${shell.toFixed(0)}ms`);
          return { bare, shell };
        },
      );
      return figures(count, concurrency, runs, base);
    } finally {
      await bus.close();
      await store.quit();
      await Promise.all([nats.dispose(), redis.dispose()]);
      rmSync(root, { recursive: true, force: true });
    }
  },
};
