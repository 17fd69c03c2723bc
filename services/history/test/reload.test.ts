// The history follows mirror.yaml while it runs: which checks are configured (a check no longer
// listed reads as removed, one added back as current) and its buffer limit; a broken save keeps
// the old config, logged by key path and counted, and the next good save is applied.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { raw as rawBus } from "@mirror/bus/testing";
import { historyCheck, type ServiceStatus, serviceStatus } from "@mirror/contracts";
import { createLogger, parseConfig, runService } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { historySpec } from "../src/app.js";

let nats: ServerHandle;
let redis: ServerHandle;
let tracker: Bus;
let caller: Bus;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const bus = (name: string) =>
    Bus.connect({
      name,
      url: nats.url,
      log: createLogger("t", { write: () => true } as never, "silent"),
      registry: new Registry(),
    });
  [tracker, caller] = await Promise.all([bus("service-tracker"), bus("operator")]);
});
after(async () => {
  await Promise.all([tracker?.close(), caller?.close()]);
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

function up(name: string): ServiceStatus {
  const at = new Date().toISOString();
  return {
    name,
    kind: "http",
    state: "up",
    observedAt: at,
    seq: 1,
    since: at,
    latencyMs: 5,
    reason: null,
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
  };
}

test("history: checks added to and removed from mirror.yaml count as configured or removed at once; a broken save is rejected by key path and the fixed one applied", async () => {
  const dir = tempDir("mirror-history-reload-");
  const file = join(dir, "mirror.yaml");
  const yaml = (checks: string[], extra = "") =>
    `tracker:\n  checks:\n${checks.map((c) => `    - { name: ${c}, http: { url: "http://127.0.0.1:1/" } }\n`).join("")}history:\n  port: 0${extra}\n`;
  writeFileSync(file, yaml(["web"]));
  const env = { MIRROR_CONFIG: file, MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const lines: Record<string, unknown>[] = [];
  const logDest = { write: (l: string) => void lines.push(JSON.parse(l)) };
  const svc = await runService(historySpec(), {
    config: parseConfig(yaml(["web"]), env, file),
    env,
    port: 0,
    logDest: logDest as never,
  });
  await rawBus(svc.ctx.bus).nc.flush();
  const reloads = async (result: string) =>
    Number(
      new RegExp(`mirror_config_reload_total\\{result="${result}"\\} (\\d+)`).exec(
        await (await fetch(`http://127.0.0.1:${svc.port}/metrics`)).text(),
      )?.[1] ?? 0,
    );
  const removed = async (name: string) =>
    (await caller.request(historyCheck, { name, window: "24h" }, { timeout: 5_000 })).removed;
  try {
    await tracker.publish(serviceStatus, "web", up("web"));
    await tracker.publish(serviceStatus, "db", up("db"));
    await waitFor(
      "both recorded",
      async () => (await caller.request(historyCheck, { name: "db", window: "24h" }, { timeout: 5_000 })).known,
    );
    assert.equal(await removed("db"), true, "db is not in tracker.checks yet");
    assert.equal(await removed("web"), false);

    writeFileSync(file, yaml(["web", "db"], "\n  bufferLimit: 50\n  timeZone: Europe/Berlin"));
    await waitFor("db configured", async () => (await removed("db")) === false, { timeout: 10_000 });
    const applied = lines.find((l) => l.msg === "config reloaded");
    assert.deepEqual(
      [applied?.checksAdded, applied?.checksRemoved, applied?.bufferLimit, applied?.needsRestart],
      [["db"], [], 50, ["history.timeZone"]],
    );

    // Half-written (cut inside a flow mapping), then whole but with a bad key: both rejected, each problem by key path.
    writeFileSync(file, yaml(["web"]).slice(0, 45));
    await waitFor("rejected", async () => (await reloads("error")) >= 1, { timeout: 10_000 });
    writeFileSync(file, yaml(["web"], "\n  bufferLimit: -1\n  timeZone: Mars/Olympus"));
    await waitFor("rejected again", async () => (await reloads("error")) >= 2, { timeout: 10_000 });
    const rejected = lines.filter((l) => l.msg === "config reload rejected; still running on the previous config");
    assert.match(JSON.stringify(rejected[0]?.problems), /not valid YAML/);
    const problems = (rejected[1]?.problems ?? []) as string[];
    assert.ok(
      problems.some((p) => p.startsWith("history.bufferLimit:")) &&
        problems.some((p) => p.startsWith("history.timeZone:")),
      JSON.stringify(problems),
    );
    assert.equal(await removed("db"), false, "still the last good config");

    writeFileSync(file, yaml(["web"]));
    await waitFor("db removed after the fix", async () => (await removed("db")) === true, { timeout: 10_000 });
    assert.equal(await reloads("ok"), 2);
  } finally {
    await svc.stop();
  }
});
