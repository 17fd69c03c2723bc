import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Bus } from "@mirror/bus";
import { modelAsk, modelDigest, modelTriage } from "@mirror/contracts";
import type { RunningService } from "@mirror/kit";
import {
  anthropicError,
  anthropicMessage,
  callerBus,
  dirtyLoop,
  failure,
  type LogSink,
  metricsText,
  type ModelServer,
  promptText,
  startModelServer,
} from "@mirror/model-kit/testing";
import { type ServerHandle, startNats, startRedis } from "@mirror/testkit";
import { modelAnthropic } from "../src/service.js";
import { runAdapter } from "./helpers.js";

const KEY = "sk-ant-api03-SECRETKEY0123456789";
const good = { severity: "high", summary: "web has been down for 5 minutes", nextAction: "Check its container logs." };

let nats: ServerHandle;
let redis: ServerHandle;
let server: ModelServer;
let bus: Bus;
let svc: RunningService;
let logs: LogSink;

before(async () => {
  [nats, redis, server] = await Promise.all([startNats(), startRedis(), startModelServer()]);
  bus = await callerBus(nats.url);
  const yaml = `model: { anthropic: { baseUrl: "${server.url}", model: claude-test, apiKey: "${KEY}", timeout: 1500ms, maxTokens: 400 } }`;
  ({ svc, logs } = await runAdapter(modelAnthropic, yaml, { nats, redis }));
});
after(async () => {
  await svc?.stop();
  await bus?.close();
  await server?.close();
  await nats?.dispose();
  await redis?.dispose();
});

describe("model-anthropic", () => {
  test("triage forces the reply tool in a Messages request carrying the repo, and reads the tool input", async () => {
    server.calls.length = 0;
    server.script(() => ({
      json: anthropicMessage([{ text: "Let me triage." }, { tool: "loop_triage", input: good }]),
    }));
    const reply = await bus.request(modelTriage, { loop: dirtyLoop("/home/ada/code/site") }, { timeout: 5_000 });
    assert.deepEqual(reply, { adapter: "anthropic", model: "claude-test", ...good });
    const call = server.calls[0];
    assert.equal(call?.url, "/v1/messages");
    assert.equal(call?.headers["x-api-key"], KEY);
    assert.equal(call?.headers["anthropic-version"], "2023-06-01");
    assert.equal(call?.headers.authorization, undefined);
    const body = call?.json as {
      model: string;
      max_tokens: number;
      system: string;
      messages: { role: string }[];
      tools: { name: string; input_schema: { type: string; required: string[] } }[];
      tool_choice: unknown;
    };
    assert.equal(body.model, "claude-test");
    assert.equal(body.max_tokens, 400);
    assert.match(body.system, /untrusted/);
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ["user"],
    );
    assert.match(promptText(call), /<<<DATA ([0-9a-f]{12})>>>[\s\S]*"\/home\/ada\/code\/site"[\s\S]*<<<END DATA \1>>>/);
    assert.equal(body.tools[0]?.name, "loop_triage");
    assert.equal(body.tools[0]?.input_schema.type, "object");
    assert.deepEqual(body.tools[0]?.input_schema.required, ["severity", "summary", "nextAction"]);
    assert.deepEqual(body.tool_choice, { type: "tool", name: "loop_triage" });
    assert.match(await metricsText(svc.port), /mirror_model_tokens_total\{adapter="anthropic",direction="input"\} 150/);
  });

  test("a text-only reply is parsed; a tool input of the wrong shape is retried once", async () => {
    server.script(() => ({ json: anthropicMessage([{ text: `Here it is: ${JSON.stringify(good)}` }]) }));
    assert.equal((await bus.request(modelTriage, { loop: dirtyLoop("/r") })).severity, "high");
    server.calls.length = 0;
    server.script((_c, i) => ({
      json: anthropicMessage([{ tool: "loop_triage", input: i === 0 ? { severity: "high" } : good }]),
    }));
    assert.equal((await bus.request(modelTriage, { loop: dirtyLoop("/r") })).summary, good.summary);
    assert.equal(server.calls.length, 2);
    assert.match(promptText(server.calls[1]), /rejected: wrong shape: summary/);
  });

  test("errors in Anthropic's shape are typed error replies without the key; overload and cut-off output too", async () => {
    server.script(() => ({ status: 529, json: anthropicError("overloaded_error", "Overloaded") }));
    const overloaded = await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }));
    assert.equal(overloaded.code, "MIRROR_ERR_REMOTE_502");
    assert.match(overloaded.message, /\[MODEL_HTTP_ERROR\] .* answered HTTP 529: overloaded_error: Overloaded/);
    server.script(() => ({ status: 401, json: anthropicError("authentication_error", `invalid x-api-key ${KEY}`) }));
    assert.doesNotMatch((await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }))).message, /SECRETKEY/);
    server.script(() => ({
      json: anthropicMessage([{ text: '{"severity": "high", "summ' }], { stopReason: "max_tokens" }),
    }));
    const cut = await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }));
    assert.match(cut.message, /\[MODEL_BAD_OUTPUT\] .*cut at the token limit/);
    server.script(() => ({ json: { type: "completion", completion: "legacy" } }));
    assert.match(
      (await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }))).message,
      /JSON that is not a message/,
    );
    server.script(() => ({ trickle: true }));
    assert.equal(
      (await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 }))).code,
      "MIRROR_ERR_REMOTE_504",
    );
    assert.ok(!logs.raw.join("").includes("SECRETKEY"), "the API key never reaches the logs");
  });

  test("digest and ask use their own tools", async () => {
    server.calls.length = 0;
    server.script((c) => {
      const name = (c.json as { tool_choice: { name: string } }).tool_choice.name;
      return {
        json: anthropicMessage([
          {
            tool: name,
            input: name === "loops_digest" ? { title: "1 loop", text: "site is dirty" } : { answer: "web is down." },
          },
        ]),
      };
    });
    assert.equal((await bus.request(modelDigest, { loops: [dirtyLoop("/x")] })).title, "1 loop");
    assert.equal((await bus.request(modelAsk, { question: "what is broken?" })).answer, "web is down.");
    assert.deepEqual(
      server.calls.map((c) => (c.json as { tool_choice: { name: string } }).tool_choice.name),
      ["loops_digest", "mesh_answer"],
    );
  });
});
