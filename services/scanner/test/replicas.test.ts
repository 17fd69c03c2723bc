import assert from "node:assert/strict";
import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Partition, parseConfig, type RunningService, runService } from "@mirror/kit";
import { makeRepo, type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { startScanner } from "../src/app.js";
import type { Scanner } from "../src/scanner.js";
import { observeRepos } from "./helpers.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

interface Replica {
  svc: RunningService;
  scanner: Scanner;
  partition: Partition;
}

async function replica(yaml: string): Promise<Replica> {
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  let got: { scanner: Scanner; partition: Partition } | undefined;
  const svc = await runService(
    {
      name: "scanner",
      port: (c) => c.scanner.port,
      start: async (ctx) => {
        const s = await startScanner(ctx);
        got = s;
        return s;
      },
    },
    { config: parseConfig(yaml, env), port: 0, logDest: { write: () => true } as never },
  );
  if (!got) throw new Error("scanner not started");
  return { svc, ...got };
}

/** Repos this replica read with git so far. */
async function gitReads(r: Replica): Promise<number> {
  const m = await r.svc.ctx.registry.getSingleMetric("mirror_scanner_repo_scans_total")?.get();
  return m?.values.filter((v) => v.labels.mode === "git").reduce((s, v) => s + v.value, 0) ?? 0;
}

test("two scanner replicas: each changed repo is read by one of them; a stopped one's repos are scanned by the other at its next scan", {
  timeout: 60_000,
}, async () => {
  const root = realpathSync(tempDir("mirror-scan-replicas-"));
  const repos = Array.from({ length: 12 }, (_, i) => makeRepo(join(root, `r${i}`)));
  const yaml = `scanner: { roots: ["${root}"], interval: 1s }\n`;
  const a = await replica(yaml);
  const b = await replica(yaml);
  const observed = await observeRepos(nats.url);
  try {
    await waitFor(
      "both replicas active and seeing each other",
      () => b.partition.view.active && a.partition.view.live.length === 2 && b.partition.view.live.length === 2,
      { timeout: 10_000 },
    );
    // Wait for one quiet scan on each, then change every repo once.
    await new Promise((r) => setTimeout(r, 1_500));
    const [a0, b0] = [await gitReads(a), await gitReads(b)];
    for (const [i, r] of repos.entries()) writeFileSync(join(r, "change.txt"), `change ${i}`);
    await waitFor(
      "every repo dirty on the bus",
      () => repos.every((p) => observed.snapshots.some((s) => s.path === p && s.untracked === 1)),
      { timeout: 15_000 },
    );
    await new Promise((r) => setTimeout(r, 1_500));
    const [da, db] = [(await gitReads(a)) - a0, (await gitReads(b)) - b0];
    assert.equal(da + db, repos.length, `each changed repo read once: a ${da}, b ${db}`);
    assert.ok(da > 0 && db > 0, `both replicas scan: a ${da}, b ${db}`);
    const mineA = a.scanner.mine(a.scanner.repos).map((r) => r.path);
    const mineB = b.scanner.mine(b.scanner.repos).map((r) => r.path);
    assert.deepEqual([...mineA, ...mineB].sort(), [...repos].sort(), "the shares split the repos");

    // b leaves; a scans b's repos at its next scan (a new change in each shows on the bus).
    await b.svc.stop();
    for (const p of mineB) writeFileSync(join(p, "after.txt"), "x");
    await waitFor(
      "b's repos scanned by a",
      () => mineB.every((p) => observed.snapshots.some((s) => s.path === p && s.untracked === 2)),
      { timeout: 5_000 },
    );
    assert.ok(a.scanner.mine(a.scanner.repos).length === repos.length);
  } finally {
    await a.svc.stop();
    await b.svc.stop().catch(() => undefined);
    await observed.close();
  }
});

test("after a bus stall the scanner publishes its repos' snapshots again, unchanged ones included", {
  timeout: 60_000,
}, async () => {
  const root = realpathSync(tempDir("mirror-scan-stall-"));
  const repo = makeRepo(join(root, "quiet"));
  const lines: string[] = [];
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const svc = await runService(
    { name: "scanner", port: (c) => c.scanner.port, start: (ctx) => startScanner(ctx) },
    {
      config: parseConfig(`scanner: { roots: ["${root}"], interval: 500ms }\n`, env),
      port: 0,
      logDest: { write: (l: string) => lines.push(l) } as never,
    },
  );
  const snapshotsOf = async () => {
    const observed = await observeRepos(nats.url);
    try {
      await new Promise((r) => setTimeout(r, 500));
      return observed.snapshots.filter((s) => s.path === repo);
    } finally {
      await observed.close();
    }
  };
  try {
    await waitFor("the repo's snapshot stored", async () => (await snapshotsOf()).length === 1, { timeout: 15_000 });
    await nats.kill();
    await waitFor("the lease paused", () => lines.some((l) => l.includes("replica lease not renewed: its output")), {
      timeout: 20_000,
      interval: 100,
    });
    await nats.restart();
    await waitFor("snapshots published again", () => lines.some((l) => l.includes("snapshots published again")), {
      timeout: 20_000,
      interval: 100,
    });
    const all = await snapshotsOf();
    assert.equal(all.length, 2, "the unchanged repo's snapshot went out once more");
    assert.ok((all[1]?.seq ?? 0) > (all[0]?.seq ?? 0), "with a newer seq");
    assert.deepEqual({ ...all[1], seq: 0, observedAt: "" }, { ...all[0], seq: 0, observedAt: "" }, "the same state");
  } finally {
    await svc.stop();
  }
});
