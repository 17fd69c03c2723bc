import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Bus } from "@mirror/bus";
import { raw } from "@mirror/bus/testing";
import { modelTriage } from "@mirror/contracts";
import { parseConfig, runService } from "@mirror/kit";
import {
  anthropicMessage,
  callerBus,
  dirtyLoop,
  LogSink,
  metricsText,
  type ModelServer,
  startModelServer,
} from "@mirror/model-kit/testing";
import { type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { modelAnthropic } from "../src/service.js";

const good = { severity: "high", summary: "web has been down for 5 minutes", nextAction: "Check its container logs." };

let nats: ServerHandle;
let redis: ServerHandle;
let server: ModelServer;
let bus: Bus;

before(async () => {
  [nats, redis, server] = await Promise.all([startNats(), startRedis(), startModelServer()]);
  bus = await callerBus(nats.url);
  server.script(() => ({ json: anthropicMessage([{ tool: "loop_triage", input: good }]) }));
});
after(async () => {
  await bus?.close();
  await server?.close();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

test("model-anthropic takes a new model, API version and key (${ENV}) from mirror.yaml without a restart; removing its section is rejected by key path", async () => {
  const file = join(tempDir("mirror-anthropic-reload-"), "mirror.yaml");
  const yaml = (model: string, keyVar: string, extra = "") =>
    `model:\n  anthropic: { baseUrl: "${server.url}", model: ${model}, apiKey: "\${${keyVar}}"${extra} }\n`;
  writeFileSync(file, yaml("claude-one", "KEY_ONE"));
  const env = {
    MIRROR_CONFIG: file,
    MIRROR_NATS_URL: nats.url,
    MIRROR_REDIS_URL: redis.url,
    KEY_ONE: "sk-ant-one-0123456789",
    KEY_TWO: "sk-ant-two-0123456789",
  };
  const logs = new LogSink();
  const svc = await runService(modelAnthropic, {
    config: parseConfig(yaml("claude-one", "KEY_ONE"), env, file),
    env,
    port: 0,
    logDest: logs as never,
  });
  await raw(svc.ctx.bus).nc.flush();
  const reloads = async (result: string) =>
    Number(
      new RegExp(`mirror_config_reload_total\\{result="${result}"\\} (\\d+)`).exec(await metricsText(svc.port))?.[1] ??
        0,
    );
  const triage = async () => {
    const from = server.calls.length;
    const reply = await bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 });
    const call = server.calls[from];
    return [
      reply.model,
      (call?.json as { model?: string } | undefined)?.model,
      call?.headers["x-api-key"],
      call?.headers["anthropic-version"],
    ];
  };
  try {
    assert.deepEqual(await triage(), ["claude-one", "claude-one", "sk-ant-one-0123456789", "2023-06-01"]);
    writeFileSync(file, yaml("claude-two", "KEY_TWO", ", version: 2099-01-01"));
    await waitFor("reloaded", async () => (await reloads("ok")) >= 1, { timeout: 10_000 });
    assert.deepEqual(await triage(), ["claude-two", "claude-two", "sk-ant-two-0123456789", "2099-01-01"]);
    assert.deepEqual(logs.lines.find((l) => l.msg === "config reloaded")?.changed, ["apiKey", "model", "version"]);

    // Without its section the adapter could not answer: the save is rejected, named by key path.
    writeFileSync(file, "model: { port: 0 }\n");
    await waitFor("rejected", async () => (await reloads("error")) >= 1, { timeout: 10_000 });
    const rejected = logs.lines.find((l) => l.msg === "config reload rejected; still running on the previous config");
    assert.match(JSON.stringify(rejected?.problems), /model\.anthropic: required to run model-anthropic/);
    assert.deepEqual(await triage(), ["claude-two", "claude-two", "sk-ant-two-0123456789", "2099-01-01"]);
    assert.ok(!logs.raw.join("").includes("sk-ant-two"), "the new key is never logged");
  } finally {
    await svc.stop();
  }
});
