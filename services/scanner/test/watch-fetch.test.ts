import assert from "node:assert/strict";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { commitAll, git, makeRepo, type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { commitFile, realTemp, remoteAndClone } from "./fixtures.js";
import { latest, observeRepos, runScanner } from "./helpers.js";

let nats: ServerHandle;
let redis: ServerHandle;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

test("watch mode: a commit is published within a second, with no interval scan in between", async () => {
  const dir = realTemp();
  const repo = makeRepo(join(dir, "r"));
  writeFileSync(join(repo, "wip.txt"), "wip\n");
  const svc = await runScanner(`scanner: { roots: ["${dir}"], interval: 1h, watch: true }\n`, {
    nats: nats.url,
    redis: redis.url,
  });
  const observed = await observeRepos(nats.url);
  try {
    await waitFor("first snapshot, dirty", () => latest(observed, repo)?.untracked === 1);
    // Give the watchers a moment to be registered after the first scan's publish.
    await waitFor(
      "watchers",
      async () => (await svc.ctx.registry.getSingleMetric("mirror_scanner_repos")?.get())?.values[0]?.value === 1,
    );
    const t = Date.now();
    commitAll(repo, "done");
    await waitFor("clean snapshot after the commit", () => latest(observed, repo)?.untracked === 0, { timeout: 5_000 });
    assert.ok(Date.now() - t < 3_000, `took ${Date.now() - t}ms`);
  } finally {
    await svc.stop();
    await observed.close();
  }
});

test("a root with fetch: true fetches, so behind becomes current; a repo whose config names a transport program is fetched with it inert", async () => {
  const dir = realTemp();
  const root = join(dir, "root");
  const { bare } = remoteAndClone(join(dir, "x"));
  const clone = join(root, "clone");
  git(dir, "clone", "-q", bare, clone);
  const evil = join(root, "evil");
  git(dir, "clone", "-q", bare, evil);
  const mark = join(dir, "RAN");
  const script = join(dir, "ssh.sh");
  writeFileSync(script, `#!/bin/sh\ntouch '${mark}'\n`);
  chmodSync(script, 0o755);
  git(evil, "config", "core.sshCommand", script);
  git(evil, "remote", "set-url", "origin", "ssh://example.invalid/x.git");
  const other = join(dir, "other");
  git(dir, "clone", "-q", bare, other);
  const svc = await runScanner(
    `scanner: { roots: [{ path: "${root}", fetch: true }], interval: 300ms, fetchInterval: 300ms }\n`,
    { nats: nats.url, redis: redis.url },
  );
  const observed = await observeRepos(nats.url);
  try {
    await waitFor("first snapshot", () => latest(observed, clone));
    commitFile(other, "theirs.txt");
    git(other, "push", "-q", "origin", "main");
    const behind = await waitFor(
      "behind after a fetch",
      () => latest(observed, clone)?.behind === 1 && latest(observed, clone),
      { timeout: 10_000 },
    );
    assert.equal(behind.ahead, 0);
    // Its fetch ran with ssh in batch mode instead of the repo's command, and failed (no such host).
    const failed = async () =>
      (await svc.ctx.registry.getSingleMetric("mirror_scanner_errors_total")?.get())?.values.find(
        (v) => v.labels.reason === "fetch",
      )?.value ?? 0;
    await waitFor("the evil repo's fetch failed", async () => (await failed()) > 0);
    assert.equal(existsSync(mark), false, "the repo's core.sshCommand ran");
  } finally {
    await svc.stop();
    await observed.close();
  }
});
