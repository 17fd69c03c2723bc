import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { raw as rawBus } from "@mirror/bus/testing";
import { modelTriage } from "@mirror/contracts";
import { createLogger, ManualClock, parseConfig, runService } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { modelRules } from "../src/service.js";
import { makeLoop } from "./fixtures.js";

let nats: ServerHandle;
let redis: ServerHandle;
let bus: Bus;
const clock = new ManualClock(Date.parse("2026-03-10T12:00:00Z"));
const silent = { write: () => true } as never;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  bus = await Bus.connect({
    name: "test-caller",
    url: nats.url,
    log: createLogger("t", silent, "silent"),
    registry: new Registry(),
  });
});
after(async () => {
  await bus?.close();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

test("model-rules follows model.home in mirror.yaml without a restart; a broken save keeps the old one", async () => {
  const file = join(tempDir("mirror-rules-reload-"), "mirror.yaml");
  writeFileSync(file, "model: { home: /home/ada }\n");
  const env = { MIRROR_CONFIG: file, MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const lines: Record<string, unknown>[] = [];
  const logDest = { write: (l: string) => void lines.push(JSON.parse(l)) };
  const svc = await runService(modelRules, {
    config: parseConfig("model: { home: /home/ada }\n", env, file),
    env,
    port: 0,
    clock,
    logDest: logDest as never,
  });
  await rawBus(svc.ctx.bus).nc.flush();
  const loop = makeLoop(
    "repo.dirty",
    { repo: "/home/ada/code/site" },
    { now: clock.now(), openedAgoMs: 2 * 86_400_000, evidence: { unstaged: 3 } },
  );
  const summary = async () => (await bus.request(modelTriage, { loop }, { timeout: 5_000 })).summary;
  const count = (msg: string) => lines.filter((l) => l.msg === msg).length;
  try {
    assert.match(await summary(), / in ~\/code\/site /);
    writeFileSync(file, "model: { home: /home }\n");
    await waitFor("the new home", async () => / in ~\/ada\/code\/site /.test(await summary()), { timeout: 10_000 });
    assert.equal(lines.find((l) => l.msg === "config reloaded")?.home, "/home");
    writeFileSync(file, "model: { home: /home/ada, port: [ }\n");
    await waitFor("rejected", () => count("config reload rejected; still running on the previous config") === 1, {
      timeout: 10_000,
    });
    assert.match(await summary(), / in ~\/ada\/code\/site /, "still the last good home");
    writeFileSync(file, "model: { home: /home/ada, port: 19996 }\n");
    await waitFor("the fix applied", async () => / in ~\/code\/site /.test(await summary()), { timeout: 10_000 });
    assert.deepEqual(lines.filter((l) => l.msg === "config reloaded").at(-1)?.needsRestart, ["model.port"]);
  } finally {
    await svc.stop();
  }
});
