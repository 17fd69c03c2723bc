import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { runTracker, startHttp } from "./harness.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

const logged = (logs: string[], msg: string) =>
  logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);

test("a changed mirror.yaml is applied without a restart: checks added, changed and removed; a broken save keeps the old config, logged and counted", async () => {
  const web = await startHttp();
  const dir = tempDir("mirror-reload-");
  const file = join(dir, "mirror.yaml");
  const base = `tracker:
  mesh: { enabled: false }
  checks:
    - { name: cache, interval: 100ms, redis: { url: "${redis.url}", timeout: 1s } }
`;
  writeFileSync(file, base);
  const run = await runTracker(base, { nats: nats.url, redis: redis.url }, { configFile: file });
  try {
    await run.waitState("cache", "up");
    const cacheJob = run.tracker.scheduler.size;

    // Added while running: tracked without a restart.
    writeFileSync(file, `${base}    - { name: web, interval: 100ms, http: { url: "${web.url}/" } }\n`);
    await run.waitState("web", "up", 10_000);
    const [added] = logged(run.logs, "config reloaded");
    assert.deepEqual(added?.added, ["web"]);
    assert.deepEqual(added?.changed, []);
    assert.equal(run.tracker.scheduler.size, cacheJob + 1);

    // A half-written save: rejected with the reason, the old checks keep running.
    writeFileSync(file, `${base}    - { name: web, interval: 100ms, http: { url: "${web.url}/`);
    await waitFor(
      "reload rejected",
      () => logged(run.logs, "config reload rejected; still running on the previous config")[0],
    );
    const [rejected] = logged(run.logs, "config reload rejected; still running on the previous config");
    assert.match(String((rejected?.problems as string[] | undefined)?.[0]), /not valid YAML/);
    // A bad key: every problem names its key path.
    writeFileSync(file, `${base}    - { name: web, interval: 100ms, dns: { name: x.test, server: dns.example } }\n`);
    await waitFor(
      "second rejection",
      () => logged(run.logs, "config reload rejected; still running on the previous config")[1],
    );
    const second = logged(run.logs, "config reload rejected; still running on the previous config")[1];
    assert.match(JSON.stringify(second?.problems), /tracker\.checks\.1\.dns\.server/);
    assert.ok(run.tracker.book.has("web") && run.tracker.book.has("cache"), "still tracking both");
    const metrics = await (await fetch(`${run.url}/metrics`)).text();
    assert.match(metrics, /mirror_config_reload_total\{result="error"\} 2/);

    // Changed and removed; a port change is named as needing a restart.
    writeFileSync(
      file,
      base
        .replace("interval: 100ms", "interval: 200ms")
        .replace("mesh: { enabled: false }", "mesh: { enabled: false }\n  port: 19999"),
    );
    await waitFor("web removed", () => !run.tracker.book.has("web"));
    const last = logged(run.logs, "config reloaded").at(-1);
    assert.deepEqual([last?.changed, last?.removed, last?.needsRestart], [["cache"], ["web"], ["tracker.port"]]);
    await run.waitState("cache", "up");

    // SIGHUP reloads too.
    const before = logged(run.logs, "config reloaded").length;
    process.emit("SIGHUP", "SIGHUP");
    await waitFor("SIGHUP reload", () => logged(run.logs, "config reloaded").length > before);
  } finally {
    await run.stop();
    await web.close();
  }
});
