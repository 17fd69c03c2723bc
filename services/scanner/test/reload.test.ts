import assert from "node:assert/strict";
import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { scanRepos } from "@mirror/contracts";
import { makeRepo, type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { latest, observeRepos, runScanner } from "./helpers.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

test("a root added to mirror.yaml while the scanner runs is scanned at once; a broken save keeps the old roots", async () => {
  const dir = realpathSync(tempDir());
  const a = makeRepo(join(dir, "a", "one"));
  const b = makeRepo(join(dir, "b", "two"));
  const file = join(dir, "mirror.yaml");
  const first = `scanner: { roots: ["${join(dir, "a")}"], interval: 1h }\n`;
  writeFileSync(file, first);
  const svc = await runScanner(first, { nats: nats.url, redis: redis.url }, file);
  const observed = await observeRepos(nats.url);
  try {
    await waitFor("first scan", () => latest(observed, a));
    writeFileSync(file, `scanner: { roots: ["${join(dir, "a")}", "${join(dir, "b")}`);
    writeFileSync(file, `scanner: { roots: ["${join(dir, "a")}", "${join(dir, "b")}"], interval: 1h }\n`);
    // The interval is an hour: only the reload makes this scan.
    await waitFor("the new root's repo", () => latest(observed, b), { timeout: 10_000 });
    const listed = await svc.ctx.bus.request(scanRepos, {}, { timeout: 10_000 });
    assert.equal(listed.roots, 2);
    writeFileSync(file, "scanner: { roots: [");
    await waitFor("rejection counted", async () =>
      /mirror_config_reload_total\{result="error"\} [1-9]/.test(
        await (await fetch(`http://127.0.0.1:${svc.port}/metrics`)).text(),
      ),
    );
    assert.equal((await svc.ctx.bus.request(scanRepos, {}, { timeout: 10_000 })).roots, 2, "still the old config");
  } finally {
    await svc.stop();
    await observed.close();
  }
});
