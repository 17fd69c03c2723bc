import assert from "node:assert/strict";
import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { commitAll, makeRepo, type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { latest, type Observed, observeRepos, runScanner } from "./helpers.js";
import { raw } from "@mirror/bus/testing";

let nats: ServerHandle;
let redis: ServerHandle;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

test("a dirty repo is published dirty, a commit publishes it clean; a missing root does not stop the scan", async () => {
  const dir = realpathSync(tempDir());
  const dirty = makeRepo(join(dir, "dirty"));
  const clean = makeRepo(join(dir, "clean"));
  writeFileSync(join(dirty, "README.md"), "changed\n");
  writeFileSync(join(dirty, "new.txt"), "new\n");
  const yaml = `scanner: { roots: ["${join(dir, "missing")}", "${dir}"], interval: 200ms }\n`;
  const svc = await runScanner(yaml, { nats: nats.url, redis: redis.url });
  const observed: Observed = await observeRepos(nats.url);
  try {
    const first = await waitFor("dirty snapshot", () => {
      const s = latest(observed, dirty);
      return s && s.unstaged > 0 && s;
    });
    assert.equal(first.unstaged, 1);
    assert.equal(first.untracked, 1);
    assert.equal(first.branch, "main");
    assert.notEqual(first.dirtySince, null);
    const cleanSnap = await waitFor("clean snapshot", () => latest(observed, clean));
    assert.equal(cleanSnap.dirtySince, null);
    assert.equal(cleanSnap.staged + cleanSnap.unstaged + cleanSnap.untracked + cleanSnap.conflicted, 0);
    commitAll(dirty, "finish");
    const after = await waitFor("clean after commit", () => {
      const s = latest(observed, dirty);
      return s && s.unstaged === 0 && s;
    });
    assert.equal(after.untracked + after.staged + after.conflicted, 0);
    assert.equal(after.dirtySince, null);
    assert.ok(after.seq > first.seq);
    const before = observed.snapshots.length;
    await raw(svc.ctx.bus).nc.flush();
    // An unchanged repo is not published again before the resync period.
    const count = (p: string) => observed.snapshots.filter((s) => s.path === p).length;
    const cleanCount = count(clean);
    const scans = async () =>
      (await svc.ctx.registry.getSingleMetric("mirror_scanner_repo_scans_total")?.get())?.values.reduce(
        (a, v) => a + v.value,
        0,
      ) ?? 0;
    const target = (await scans()) + 4;
    await waitFor("two more scans", async () => (await scans()) >= target);
    assert.equal(count(clean), cleanCount);
    assert.ok(observed.snapshots.length >= before);
    const errors = await svc.ctx.registry.getSingleMetric("mirror_scanner_errors_total")?.get();
    assert.ok(errors?.values.some((v) => v.labels.reason === "root_missing" && v.value > 0));
  } finally {
    await svc.stop();
    await observed.close();
  }
});
