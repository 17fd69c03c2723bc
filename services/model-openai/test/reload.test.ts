import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Bus } from "@mirror/bus";
import { raw } from "@mirror/bus/testing";
import { modelTriage } from "@mirror/contracts";
import { parseConfig, runService } from "@mirror/kit";
import {
  callerBus,
  dirtyLoop,
  LogSink,
  metricsText,
  type ModelServer,
  openaiCompletion,
  startModelServer,
} from "@mirror/model-kit/testing";
import { type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { modelOpenAI } from "../src/service.js";

const good = { severity: "medium", summary: "3 files uncommitted in ~/code/site", nextAction: "Commit or stash them." };

let nats: ServerHandle;
let redis: ServerHandle;
let server: ModelServer;
let bus: Bus;

before(async () => {
  [nats, redis, server] = await Promise.all([startNats(), startRedis(), startModelServer()]);
  bus = await callerBus(nats.url);
  server.script(() => ({ json: openaiCompletion(JSON.stringify(good)) }));
});
after(async () => {
  await bus?.close();
  await server?.close();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

const reloads = async (port: number, result: string) =>
  Number(
    new RegExp(`mirror_config_reload_total\\{result="${result}"\\} (\\d+)`).exec(await metricsText(port))?.[1] ?? 0,
  );

test("model-openai takes a new model, key (secretFile, also rotated alone) and limits from mirror.yaml without a restart; a broken save keeps the old ones, logged by key path and counted", async () => {
  const dir = tempDir("mirror-model-reload-");
  const file = join(dir, "mirror.yaml");
  const yaml = (model: string, keyFile: string, extra = "") =>
    `model:\n  openai:\n    baseUrl: "${server.url}/v1"\n    model: ${model}\n    apiKey: { secretFile: ${keyFile} }\n    timeout: 2s${extra}\n`;
  writeFileSync(join(dir, "key-1"), "sk-first-key-0123456789\n");
  writeFileSync(join(dir, "key-2"), "sk-second-key-9876543210\n");
  writeFileSync(file, yaml("first-model", "key-1"));
  const env = { MIRROR_CONFIG: file, MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const logs = new LogSink();
  const svc = await runService(modelOpenAI, {
    config: parseConfig(yaml("first-model", "key-1"), env, file),
    env,
    port: 0,
    logDest: logs as never,
  });
  await raw(svc.ctx.bus).nc.flush();
  const triage = async () => {
    const from = server.calls.length;
    const reply = await bus.request(modelTriage, { loop: dirtyLoop("/home/ada/code/site") }, { timeout: 5_000 });
    const call = server.calls[from];
    return {
      model: reply.model,
      sent: (call?.json as { model?: string } | undefined)?.model,
      auth: call?.headers.authorization,
    };
  };
  try {
    assert.deepEqual(await triage(), {
      model: "first-model",
      sent: "first-model",
      auth: "Bearer sk-first-key-0123456789",
    });

    writeFileSync(file, yaml("second-model", "key-2", "\n    maxConcurrency: 4\n    port: 19999"));
    await waitFor("reloaded", async () => (await reloads(svc.port, "ok")) >= 1, { timeout: 10_000 });
    assert.deepEqual(await triage(), {
      model: "second-model",
      sent: "second-model",
      auth: "Bearer sk-second-key-9876543210",
    });
    const applied = logs.lines.find((l) => l.msg === "config reloaded");
    assert.deepEqual(applied?.changed, ["apiKey", "maxConcurrency", "model", "port"]);
    assert.deepEqual(applied?.needsRestart, ["model.openai.port"]);
    assert.ok(!logs.raw.join("").includes("sk-second-key"), "the new key is never logged");

    // Half-written: the YAML stops mid-mapping.
    writeFileSync(file, yaml("third-model", "key-1").slice(0, 40));
    await waitFor("rejected", async () => (await reloads(svc.port, "error")) >= 1, { timeout: 10_000 });
    // Whole, but wrong: each bad key is named by its path.
    writeFileSync(file, yaml("third-model", "key-1", "\n    maxConcurrency: 0\n    maxTokens: 1"));
    await waitFor("second rejection", async () => (await reloads(svc.port, "error")) >= 2, { timeout: 10_000 });
    const rejected = logs.lines.filter((l) => l.msg === "config reload rejected; still running on the previous config");
    assert.match(JSON.stringify(rejected[0]?.problems), /not valid YAML/);
    const problems = (rejected[1]?.problems ?? []) as string[];
    assert.ok(
      problems.some((p) => p.startsWith("model.openai.maxConcurrency:")),
      JSON.stringify(problems),
    );
    assert.ok(
      problems.some((p) => p.startsWith("model.openai.maxTokens:")),
      JSON.stringify(problems),
    );
    assert.deepEqual(
      await triage(),
      { model: "second-model", sent: "second-model", auth: "Bearer sk-second-key-9876543210" },
      "still the last good config",
    );

    // The corrected file is applied at its next save.
    writeFileSync(file, yaml("third-model", "key-1"));
    await waitFor("applied after the fix", async () => (await reloads(svc.port, "ok")) >= 2, { timeout: 10_000 });
    assert.deepEqual(await triage(), {
      model: "third-model",
      sent: "third-model",
      auth: "Bearer sk-first-key-0123456789",
    });

    // The key rotated in its secretFile alone, mirror.yaml untouched: the next call sends the new one.
    writeFileSync(join(dir, "key-1"), "sk-rotated-key-5555555555\n");
    await waitFor("rotated key applied", async () => (await reloads(svc.port, "ok")) >= 3, { timeout: 10_000 });
    assert.deepEqual(await triage(), {
      model: "third-model",
      sent: "third-model",
      auth: "Bearer sk-rotated-key-5555555555",
    });
    assert.deepEqual(logs.lines.filter((l) => l.msg === "config reloaded").at(-1)?.changed, ["apiKey"]);
    assert.ok(!logs.raw.join("").includes("sk-rotated-key"), "the rotated key is never logged");
  } finally {
    await svc.stop();
  }
});

test("a request in flight during a reload finishes on the model it started with; the next one uses the new model", async () => {
  const dir = tempDir("mirror-model-reload-");
  const file = join(dir, "mirror.yaml");
  const yaml = (model: string) => `model: { openai: { baseUrl: "${server.url}/v1", model: ${model}, timeout: 10s } }\n`;
  writeFileSync(file, yaml("old-model"));
  const env = { MIRROR_CONFIG: file, MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const svc = await runService(modelOpenAI, {
    config: parseConfig(yaml("old-model"), env, file),
    env,
    port: 0,
    logDest: new LogSink() as never,
  });
  await raw(svc.ctx.bus).nc.flush();
  const from = server.calls.length;
  // The first call is answered slowly, and with output of the wrong shape: the retry is part of the same request.
  server.script((_call, i) =>
    i === from
      ? { json: openaiCompletion("not json"), delayMs: 1_500 }
      : { json: openaiCompletion(JSON.stringify(good)) },
  );
  try {
    const slow = bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 10_000 });
    await waitFor("the slow call arrived", () => server.calls.length > from);
    writeFileSync(file, yaml("new-model"));
    await waitFor("reloaded", async () => (await reloads(svc.port, "ok")) >= 1, { timeout: 10_000 });
    const reply = await slow;
    assert.equal(reply.model, "old-model");
    const sent = server.calls.slice(from).map((c) => (c.json as { model?: string } | undefined)?.model);
    assert.deepEqual(
      sent,
      ["old-model", "old-model"],
      "both attempts of the request went to the model it started with",
    );
    assert.equal((await bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 })).model, "new-model");
  } finally {
    server.script(() => ({ json: openaiCompletion(JSON.stringify(good)) }));
    await svc.stop();
  }
});
