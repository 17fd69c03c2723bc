// Smoke run of every benchmark with tiny sizes and one run each: proves each bench starts its
// own servers, measures its figure and its baseline, and tears down. The numbers mean nothing
// here (timed assertions do not belong in tests); `pnpm bench` measures for real.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SERVICE_NAMES } from "./mesh-services.js";
import { REPO_ROOT, tempDir } from "@mirror/testkit";
import type { Figure } from "../bench/figure.js";
import { BENCHES } from "../bench/run.js";

const EXPECTED: Record<string, string[]> = {
  pipeline: [
    "pipeline.throughput",
    "pipeline.latency_p99_ms",
    "pipeline.cpu_ms_per_event",
    "pipeline.redeliveries",
    "pipeline.identity_overhead",
    ...SERVICE_NAMES.map((n) => `rss.${n}`),
  ],
  loops: ["loops.reconcile"],
  scanner: ["scanner.full", "scanner.rescan"],
  tracker: ["tracker.checks", "tracker.cpu", "tracker.cpu.mixed", "tracker.reload"],
  sign: ["sign.verify_us"],
  history: ["history.record", "history.query"],
  footprint: ["footprint.single_rss_mb", "footprint.multi_rss_mb", "footprint.idle_cpu_pct"],
};

function checkFigure(f: Figure): void {
  for (const key of ["value", "baselineValue", "ratio", "min", "max"] as const) {
    assert.ok(Number.isFinite(f[key]) && f[key] >= 0, `${f.id}.${key} is a number >= 0 (got ${f[key]})`);
  }
  assert.ok(f.baseline.length > 0 && f.unit.length > 0, `${f.id} names its baseline and unit`);
  assert.match(f.goal, /^(value|ratio) (<|<=|>=|>) [\d.]+$/, `${f.id} has a goal`);
  assert.ok(f.min <= f.value && f.value <= f.max, `${f.id}: min <= value <= max`);
  assert.ok(f.runs.length >= 1 && f.baselineRuns.length >= 1, `${f.id} keeps its runs`);
  assert.equal(typeof f.ok, "boolean");
}

test("every figure id of issue 11 has a bench", () => {
  assert.deepEqual(BENCHES.map((b) => b.name).sort(), Object.keys(EXPECTED).sort());
});

for (const bench of BENCHES) {
  test(`bench ${bench.name} runs with tiny sizes and reports its figures beside their baselines`, {
    timeout: 300_000,
  }, async () => {
    const figures = await bench.run({ quick: true });
    assert.deepEqual(figures.map((f) => f.id).sort(), [...(EXPECTED[bench.name] ?? [])].sort());
    for (const f of figures) checkFigure(f);
    if (bench.name === "pipeline") {
      // The floor the pipeline figures are read against: the bus chain ran and reached the receiver.
      const tp = figures.find((f) => f.id === "pipeline.throughput");
      for (const key of ["busChain", "busChainRatio", "busChain.cpuMsPerEvent.nats-server"])
        assert.ok((tp?.extra?.[key] ?? 0) > 0, `pipeline.throughput extra.${key} > 0`);
      assert.ok(
        (figures.find((f) => f.id === "pipeline.latency_p99_ms")?.extra?.busChainP99 ?? 0) > 0,
        "pipeline.latency_p99_ms extra.busChainP99 > 0",
      );
    }
  });
}

test("pnpm bench NAME writes the JSON of the issue; an unknown name exits 2", { timeout: 300_000 }, () => {
  const out = join(tempDir("mirror-bench-out-"), "latest.json");
  const r = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "loops", "--quick", `--out=${out}`], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /loops\.reconcile/);
  const json = JSON.parse(readFileSync(out, "utf8")) as { machine: Record<string, unknown>; figures: Figure[] };
  assert.equal(typeof json.machine.cpu, "string");
  assert.equal(typeof json.machine.cores, "number");
  assert.deepEqual(
    json.figures.map((f) => f.id),
    ["loops.reconcile"],
  );
  for (const key of ["id", "value", "unit", "baseline", "baselineValue", "ratio", "goal"])
    assert.ok(key in (json.figures[0] ?? {}), `figure has ${key}`);
  const bad = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "no-such-bench"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown bench no-such-bench/);
});
