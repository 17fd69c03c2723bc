import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { scanNow } from "@mirror/contracts";
import { makeRepo, type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { latest, observeRepos, runScanner } from "./helpers.js";

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, "../../..");
let nats: ServerHandle;
let redis: ServerHandle;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

test("scan.now scans everything or one repo, and refuses paths outside the roots", async () => {
  const dir = realpathSync(tempDir());
  const root = join(dir, "root");
  const outside = makeRepo(join(dir, "outside"));
  const inside = makeRepo(join(root, "inside"));
  mkdirSync(join(inside, "sub"));
  symlinkSync(outside, join(root, "escape"));
  // A long interval: only scan.now makes scans after the first.
  const svc = await runScanner(`scanner: { roots: ["${root}"], interval: 1h }\n`, { nats: nats.url, redis: redis.url });
  const observed = await observeRepos(nats.url);
  try {
    await waitFor("first scan", () => latest(observed, inside));
    const all = await svc.ctx.bus.request(scanNow, {}, { timeout: 10_000 });
    assert.equal(all.repos, 1);
    assert.equal(all.published, 1);
    writeFileSync(join(inside, "x.txt"), "x");
    const one = await svc.ctx.bus.request(scanNow, { path: join(inside, "sub") }, { timeout: 10_000 });
    assert.deepEqual([one.repos, one.published], [1, 1]);
    assert.equal(
      latest(observed, inside)?.untracked ?? (await waitFor("dirty", () => latest(observed, inside)?.untracked)),
      1,
    );
    await assert.rejects(svc.ctx.bus.request(scanNow, { path: outside }), /403.*outside the scanner roots/);
    await assert.rejects(
      svc.ctx.bus.request(scanNow, { path: join(root, "escape") }),
      /403.*outside the scanner roots/,
    );
    await assert.rejects(svc.ctx.bus.request(scanNow, { path: join(root, "inside", "..", "..", "outside") }), /403/);
    await assert.rejects(svc.ctx.bus.request(scanNow, { path: join(root, "nope") }), /404/);
    assert.ok(!observed.snapshots.some((s) => s.path === outside));
  } finally {
    await svc.stop();
    await observed.close();
  }
});

test("`mirror scan PATH` asks the running scanner and prints the summary", async () => {
  const dir = realpathSync(tempDir());
  const repo = makeRepo(join(dir, "r"));
  const svc = await runScanner(`scanner: { roots: ["${dir}"], interval: 1h }\n`, { nats: nats.url, redis: redis.url });
  const config = join(dir, "mirror.yaml");
  writeFileSync(config, `scanner: { roots: ["${dir}"] }\n`);
  const env = { ...process.env, MIRROR_CONFIG: config, MIRROR_NATS_URL: nats.url };
  const cli = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", "packages/cli/src/main.ts", "scan", ...args], { cwd: repoRoot, env });
  try {
    const ok = await cli(repo);
    assert.equal(ok.stdout, "scanned 1 repo, published 1 snapshot\n");
    const json = JSON.parse((await cli("--json")).stdout) as { repos: number };
    assert.equal(json.repos, 1);
    const refused = await cli("/").then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(refused?.code, 1);
    assert.match(refused?.stderr ?? "", /outside the scanner roots/);
  } finally {
    await svc.stop();
  }
});
