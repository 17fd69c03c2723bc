import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { MODEL_SERVICE, modelAsk, modelDigest, modelTriage } from "@mirror/contracts";
import { createLogger, ManualClock, parseConfig, type RunningService, runService } from "@mirror/kit";
import { startNats, startRedis, type ServerHandle } from "@mirror/testkit";
import { Svcm } from "@nats-io/services";
import { Registry } from "prom-client";
import { modelRules } from "../src/service.js";
import { makeLoop } from "./fixtures.js";
import { raw as rawBus } from "@mirror/bus/testing";

let nats: ServerHandle;
let redis: ServerHandle;
let svc: RunningService;
let bus: Bus;
const clock = new ManualClock(Date.parse("2026-03-10T12:00:00Z"));
const silent = { write: () => true } as never;

before(async () => {
  nats = await startNats();
  redis = await startRedis();
  const config = parseConfig("model: { home: /home/ada }", { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url });
  svc = await runService(modelRules, { config, port: 0, clock, logDest: silent });
  // The endpoints' subscriptions reach the server asynchronously; a flush makes them visible to callers.
  await rawBus(svc.ctx.bus).nc.flush();
  bus = await Bus.connect({
    name: "test-caller",
    url: nats.url,
    log: createLogger("t", silent, "silent"),
    registry: new Registry(),
  });
});
after(async () => {
  await bus?.close();
  await svc?.stop();
  await nats?.dispose();
  await redis?.dispose();
});

test("answers mirror.model.triage over the bus, naming the adapter", async () => {
  const loop = makeLoop(
    "repo.dirty",
    { repo: "/home/ada/code/site" },
    { now: clock.now(), openedAgoMs: 2 * 86_400_000, evidence: { unstaged: 3 } },
  );
  const reply = await bus.request(modelTriage, { loop }, { timeout: 5_000 });
  assert.equal(reply.adapter, "rules");
  assert.equal(reply.model, "rules-v1");
  assert.equal(reply.summary, "3 files uncommitted for 2 days in ~/code/site (3 modified)");
  assert.equal(reply.severity, "medium");
});

test("an invalid triage request is refused with the reason, and the service keeps answering", async () => {
  await assert.rejects(
    rawBus(bus)
      .nc.request(modelTriage.subject, "{not json", { timeout: 5_000 })
      .then((m) => {
        throw new Error(`${m.headers?.get("Nats-Service-Error-Code")} ${m.headers?.get("Nats-Service-Error")}`);
      }),
    /400 request is not JSON/,
  );
  const raw = await rawBus(bus).nc.request(modelTriage.subject, JSON.stringify({ loop: { id: "x" } }), {
    timeout: 5_000,
  });
  assert.equal(raw.headers?.get("Nats-Service-Error-Code"), "400");
  assert.match(raw.headers?.get("Nats-Service-Error") ?? "", /invalid triage request: loop\.kind/);
  const loop = makeLoop("service.down", { service: "web" }, { now: clock.now() });
  assert.equal((await bus.request(modelTriage, { loop })).severity, "high");
});

test("registers as mirror-model with its adapter and model in the metadata", async () => {
  const client = new Svcm(rawBus(bus).nc).client();
  const infos = [];
  for await (const info of await client.info(MODEL_SERVICE)) infos.push(info);
  assert.equal(infos.length, 1);
  assert.equal(infos[0]?.metadata?.adapter, "rules");
  assert.equal(infos[0]?.metadata?.model, "rules-v1");
  assert.ok(infos[0]?.endpoints.some((e) => e.subject === "mirror.model.triage" && e.queue_group === "mirror-model"));
  const metrics = await (await fetch(`http://127.0.0.1:${svc.port}/metrics`)).text();
  assert.match(metrics, /mirror_model_requests_total\{adapter="rules",endpoint="triage",outcome="ok"\} [1-9]/);
});

test("digest lists the open loops most urgent first, with a count per severity", async () => {
  const now = clock.now();
  const loops = [
    makeLoop("repo.stash", { repo: "/home/ada/code/a" }, { now, openedAgoMs: 86_400_000 }),
    makeLoop("service.down", { service: "web" }, { now, openedAgoMs: 2 * 3_600_000, evidence: { reason: "HTTP 502" } }),
    { ...makeLoop("repo.dirty", { repo: "/home/ada/code/b" }, { now }), status: "closed" as const },
  ];
  const reply = await bus.request(modelDigest, { loops, period: "daily" });
  assert.equal(reply.adapter, "rules");
  assert.equal(reply.title, "2 open loops: 1 critical, 1 info (daily)");
  const lines = reply.text.split("\n");
  assert.match(lines[0] ?? "", /^- \[critical\] web has been down for 2 hours: HTTP 502\. /);
  assert.match(lines[1] ?? "", /^- \[info\] 1 stash in ~\/code\/a/);
  assert.equal(lines.length, 2, "closed loops are left out");
  assert.equal((await bus.request(modelDigest, { loops: [] })).title, "No open loops");
});

test("ask answers from the loops and services it is given, and refuses an empty question", async () => {
  const now = clock.now();
  const at = new Date(now - 600_000).toISOString();
  const services = [
    { name: "web", kind: "http", state: "down", observedAt: at, seq: 1, since: at, reason: "connect ECONNREFUSED" },
    { name: "nas", kind: "tcp", state: "up", observedAt: at, seq: 1, since: at },
  ];
  const loops = [makeLoop("repo.dirty", { repo: "/home/ada/code/site" }, { now, evidence: { unstaged: 1 } })];
  const all = await bus.request(modelAsk, { question: "what is broken?", loops, services });
  assert.match(all.answer, /Services not up \(1 of 2\):\n- web is down for 10 minutes: connect ECONNREFUSED/);
  assert.match(all.answer, /1 open loop \(1 low\):\n- \[low\] 1 file uncommitted/);
  const repos = await bus.request(modelAsk, { question: "which repos have uncommitted work?", loops, services });
  assert.doesNotMatch(repos.answer, /web is down/);
  assert.match(repos.answer, /~\/code\/site/);
  const raw = await rawBus(bus).nc.request(modelAsk.subject, JSON.stringify({ question: "" }), { timeout: 5_000 });
  assert.equal(raw.headers?.get("Nats-Service-Error-Code"), "400");
  assert.match(raw.headers?.get("Nats-Service-Error") ?? "", /the question is empty/);
});
