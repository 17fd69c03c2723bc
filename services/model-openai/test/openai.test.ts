import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Bus } from "@mirror/bus";
import { MODEL_SERVICE, modelAsk, modelDigest, modelTriage } from "@mirror/contracts";
import type { RunningService } from "@mirror/kit";
import {
  callerBus,
  dirtyLoop,
  failure,
  type LogSink,
  metricsText as metrics,
  type ModelServer,
  openaiCompletion,
  openaiError,
  promptText,
  startModelServer,
} from "@mirror/model-kit/testing";
import { freePort, type ServerHandle, startNats, startRedis } from "@mirror/testkit";
import { Svcm } from "@nats-io/services";
import { modelOpenAI } from "../src/service.js";
import { runAdapter } from "./helpers.js";
import { raw as rawBus } from "@mirror/bus/testing";

const KEY = "sk-test-SECRETKEY0123456789";
const good = {
  severity: "medium",
  summary: "3 files uncommitted for 2 days in ~/code/site",
  nextAction: "Commit or stash them.",
};

let nats: ServerHandle;
let redis: ServerHandle;
let server: ModelServer;
let bus: Bus;

before(async () => {
  [nats, redis, server] = await Promise.all([startNats(), startRedis(), startModelServer()]);
  bus = await callerBus(nats.url);
});
after(async () => {
  await bus?.close();
  await server?.close();
  await nats?.dispose();
  await redis?.dispose();
});

function yaml(extra = "") {
  return `model: { openai: { baseUrl: "${server.url}/v1", model: test-model, apiKey: "${KEY}", timeout: 1500ms, queueTimeout: 300ms, maxTokens: 300, maxConcurrency: 1${extra} } }`;
}

describe("model-openai", () => {
  let svc: RunningService;
  let logs: LogSink;
  before(async () => {
    ({ svc, logs } = await runAdapter(modelOpenAI, yaml(), { nats, redis }));
  });
  after(async () => svc?.stop());

  test("triage sends a structured-output chat completion carrying the repo, and names the adapter", async () => {
    server.calls.length = 0;
    server.script(() => ({ json: openaiCompletion(JSON.stringify(good)) }));
    const reply = await bus.request(modelTriage, { loop: dirtyLoop("/home/ada/code/site") }, { timeout: 5_000 });
    assert.deepEqual(reply, { adapter: "openai", model: "test-model", ...good });
    const call = server.calls[0];
    assert.equal(call?.method, "POST");
    assert.equal(call?.url, "/v1/chat/completions");
    assert.equal(call?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(call?.headers["content-type"], "application/json");
    const body = call?.json as {
      model: string;
      messages: { role: string; content: string }[];
      max_tokens: number;
      stream: boolean;
      response_format: {
        type: string;
        json_schema: { name: string; strict: boolean; schema: { required: string[]; additionalProperties: boolean } };
      };
    };
    assert.equal(body.model, "test-model");
    assert.equal(body.max_tokens, 300);
    assert.equal(body.stream, false);
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ["system", "user"],
    );
    assert.match(
      body.messages[1]?.content ?? "",
      /<<<DATA ([0-9a-f]{12})>>>[\s\S]*"\/home\/ada\/code\/site"[\s\S]*<<<END DATA \1>>>/,
    );
    assert.equal(body.response_format.type, "json_schema");
    assert.equal(body.response_format.json_schema.name, "loop_triage");
    assert.equal(body.response_format.json_schema.strict, true);
    assert.deepEqual(body.response_format.json_schema.schema.required, ["severity", "summary", "nextAction"]);
    assert.equal(body.response_format.json_schema.schema.additionalProperties, false);
    assert.match(
      await metrics(svc.port),
      /mirror_model_requests_total\{adapter="openai",endpoint="triage",outcome="ok"\} 1/,
    );
  });

  test("a JSON object inside prose or a fenced block is still found", async () => {
    server.script(() => ({
      json: openaiCompletion(
        `<think>hmm {"no": 1</think>Here you go:\n\`\`\`json\n${JSON.stringify(good)}\n\`\`\`\nAnything else?`,
      ),
    }));
    const reply = await bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 });
    assert.equal(reply.summary, good.summary);
  });

  test("output of the wrong shape is retried once with the problem stated, then accepted", async () => {
    server.calls.length = 0;
    server.script((_c, i) => ({
      json: openaiCompletion(i === 0 ? JSON.stringify({ severity: "urgent", summary: "" }) : JSON.stringify(good)),
    }));
    const reply = await bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 });
    assert.equal(reply.severity, "medium");
    assert.equal(server.calls.length, 2);
    const retry = promptText(server.calls[1]);
    assert.match(retry, /A previous answer was rejected: wrong shape: severity: .*summary/);
    assert.match(await metrics(svc.port), /outcome="retried_ok"\} 1/);
  });

  test("output invalid twice is an error reply, so the caller keeps triage pending", async () => {
    server.calls.length = 0;
    server.script(() => ({ json: openaiCompletion("I think this is fine, nothing to do.") }));
    const err = await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 }));
    assert.equal(err.code, "MIRROR_ERR_REMOTE_502");
    assert.match(err.message, /\[MODEL_BAD_OUTPUT\] .*no JSON object in the reply/);
    assert.equal(server.calls.length, 2);
  });

  test("HTTP 500, a non-JSON body and a chat completion of the wrong shape are typed errors, never with the key", async () => {
    server.script(() => ({ status: 500, json: openaiError(`upstream exploded; key was ${KEY}`, "server_error") }));
    const e500 = await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 }));
    assert.equal(e500.code, "MIRROR_ERR_REMOTE_502");
    assert.match(e500.message, /\[MODEL_HTTP_ERROR\] http:\/\/127\.0\.0\.1:\d+ answered HTTP 500: upstream exploded/);
    assert.doesNotMatch(e500.message, /SECRETKEY/);
    server.script(() => ({ text: "<html>Bad Gateway</html>" }));
    assert.match(
      (await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }))).message,
      /answered 200 with a body that is not JSON/,
    );
    server.script(() => ({ json: { choices: [] } }));
    assert.match(
      (await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }))).message,
      /JSON that is not a chat completion/,
    );
    assert.ok(logs.raw.length > 0);
    assert.ok(!logs.raw.join("").includes("SECRETKEY"), "the API key never reaches the logs");
  });

  test("a server that streams forever or never answers is a timeout within the configured bound", async () => {
    server.script(() => ({ trickle: true }));
    const started = Date.now();
    const err = await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 }));
    assert.equal(err.code, "MIRROR_ERR_REMOTE_504");
    assert.match(err.message, /\[MODEL_TIMEOUT\]/);
    assert.ok(Date.now() - started < 3_000, "bounded by model.openai.timeout");
    server.script(() => ({ hang: true }));
    const budget = await failure(
      bus.request(modelTriage, { loop: dirtyLoop("/r"), timeoutMs: 700 }, { timeout: 5_000 }),
    );
    assert.match(budget.message, /\[MODEL_TIMEOUT\]/, "the caller's own budget is honoured");
  });

  test("a second request waits for the only slot and is refused as busy when the wait is too long", async () => {
    server.script((_c, i) => (i % 2 === 0 ? { hang: true } : { json: openaiCompletion(JSON.stringify(good)) }));
    server.calls.length = 0;
    const first = failure(bus.request(modelTriage, { loop: dirtyLoop("/a") }, { timeout: 5_000 }));
    const second = await failure(bus.request(modelTriage, { loop: dirtyLoop("/b") }, { timeout: 5_000 }));
    assert.equal(second.code, "MIRROR_ERR_REMOTE_503");
    assert.match(second.message, /\[MODEL_BUSY\]/);
    assert.match((await first).message, /MODEL_TIMEOUT/);
    assert.equal(server.calls.length, 1, "the busy request never reached the model server");
  });

  test("digest and ask answer with the adapter's text; an empty question is refused with the reason", async () => {
    server.calls.length = 0;
    server.script((c) => {
      const schema = (c.json as { response_format: { json_schema: { name: string } } }).response_format.json_schema
        .name;
      return {
        json: openaiCompletion(
          schema === "loops_digest"
            ? JSON.stringify({ title: "1 open loop", text: "~/code/site is dirty." })
            : JSON.stringify({ answer: "Nothing is down; one repo is dirty." }),
        ),
      };
    });
    const digest = await bus.request(modelDigest, { loops: [dirtyLoop("/home/ada/code/site")] }, { timeout: 5_000 });
    assert.deepEqual(digest, {
      adapter: "openai",
      model: "test-model",
      title: "1 open loop",
      text: "~/code/site is dirty.",
    });
    const ask = await bus.request(
      modelAsk,
      { question: "what is broken?", loops: [dirtyLoop("/x")] },
      { timeout: 5_000 },
    );
    assert.equal(ask.answer, "Nothing is down; one repo is dirty.");
    const asked = promptText(server.calls[1]);
    assert.match(asked, /Question: what is broken\?/);
    const raw = await rawBus(bus).nc.request(modelAsk.subject, JSON.stringify({ question: "   " }), { timeout: 5_000 });
    assert.equal(raw.headers?.get("Nats-Service-Error-Code"), "400");
    assert.match(raw.headers?.get("Nats-Service-Error") ?? "", /question: the question is empty/);
  });
});

describe("model-openai against other servers", () => {
  test("a server that rejects response_format is asked again without it, and remembered", async () => {
    const { svc } = await runAdapter(modelOpenAI, yaml(), { nats, redis });
    try {
      server.calls.length = 0;
      server.script((c) =>
        (c.json as Record<string, unknown>).response_format
          ? { status: 400, json: openaiError("Unrecognized request argument supplied: response_format") }
          : { json: openaiCompletion(`Sure! ${JSON.stringify(good)}`) },
      );
      assert.equal((await bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 })).adapter, "openai");
      await bus.request(modelTriage, { loop: dirtyLoop("/r2") }, { timeout: 5_000 });
      assert.deepEqual(
        server.calls.map((c) => "response_format" in (c.json ?? {})),
        [true, false, false],
      );
    } finally {
      await svc.stop();
    }
  });

  test("a model server that is down is MODEL_UNAVAILABLE", async () => {
    const port = await freePort();
    const { svc } = await runAdapter(
      modelOpenAI,
      `model: { openai: { baseUrl: "http://127.0.0.1:${port}/v1", model: m } }`,
      { nats, redis },
    );
    try {
      const err = await failure(bus.request(modelTriage, { loop: dirtyLoop("/r") }, { timeout: 5_000 }));
      assert.equal(err.code, "MIRROR_ERR_REMOTE_503");
      assert.match(err.message, /\[MODEL_UNAVAILABLE\] http:\/\/127\.0\.0\.1:\d+ could not be reached: ECONNREFUSED/);
    } finally {
      await svc.stop();
    }
  });
});

describe("two adapters at once", () => {
  test("share the mirror-model queue group: each request is answered once, by either", async () => {
    // Queue groups pick at random: 24 requests all landing on one of two adapters is a 2^-23 chance.
    const relaxed = yaml().replace("queueTimeout: 300ms", "queueTimeout: 10s");
    const first = await runAdapter(modelOpenAI, relaxed, { nats, redis });
    const second = await runAdapter(modelOpenAI, relaxed.replace("model: test-model", "model: other-model"), {
      nats,
      redis,
    });
    try {
      server.calls.length = 0;
      server.script(() => ({ json: openaiCompletion(JSON.stringify(good)) }));
      const replies = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          bus.request(modelTriage, { loop: dirtyLoop(`/r${i}`) }, { timeout: 5_000 }),
        ),
      );
      assert.equal(server.calls.length, 24, "each request reached the model exactly once");
      const models = new Set(replies.map((r) => r.model));
      assert.deepEqual([...models].sort(), ["other-model", "test-model"]);
      const client = new Svcm(rawBus(bus).nc).client({ strategy: "timer", maxWait: 1_000 });
      const infos = [];
      for await (const info of await client.info(MODEL_SERVICE)) infos.push(info);
      assert.deepEqual(infos.map((i) => i.metadata?.model).sort(), ["other-model", "test-model"]);
    } finally {
      await first.svc.stop();
      await second.svc.stop();
    }
  });
});
