import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { MODEL_SERVICE, modelTriage } from "@mirror/contracts";
import { createLogger, ManualClock, parseConfig, type RunningService, runService } from "@mirror/kit";
import { startNats, startRedis, type ServerHandle } from "@mirror/testkit";
import { Svcm } from "@nats-io/services";
import { Registry } from "prom-client";
import { modelRules } from "../src/service.js";
import { makeLoop } from "./fixtures.js";

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
  bus = await Bus.connect({ name: "test-caller", url: nats.url, log: createLogger("t", silent, "silent"), registry: new Registry() });
});
after(async () => {
  await bus?.close();
  await svc?.stop();
  await nats?.dispose();
  await redis?.dispose();
});

test("answers mirror.model.triage over the bus, naming the adapter", async () => {
  const loop = makeLoop("repo.dirty", { repo: "/home/ada/code/site" }, { now: clock.now(), openedAgoMs: 2 * 86_400_000, evidence: { unstaged: 3 } });
  const reply = await bus.request(modelTriage, { loop }, { timeout: 5_000 });
  assert.equal(reply.adapter, "rules");
  assert.equal(reply.model, "rules-v1");
  assert.equal(reply.summary, "3 files uncommitted for 2 days in ~/code/site (3 modified)");
  assert.equal(reply.severity, "medium");
});

test("an invalid triage request is refused with the reason, and the service keeps answering", async () => {
  await assert.rejects(bus.nc.request(modelTriage.subject, "{not json", { timeout: 5_000 }).then((m) => {
    throw new Error(`${m.headers?.get("Nats-Service-Error-Code")} ${m.headers?.get("Nats-Service-Error")}`);
  }), /400 request is not JSON/);
  const raw = await bus.nc.request(modelTriage.subject, JSON.stringify({ loop: { id: "x" } }), { timeout: 5_000 });
  assert.equal(raw.headers?.get("Nats-Service-Error-Code"), "400");
  assert.match(raw.headers?.get("Nats-Service-Error") ?? "", /invalid triage request: loop\.kind/);
  const loop = makeLoop("service.down", { service: "web" }, { now: clock.now() });
  assert.equal((await bus.request(modelTriage, { loop })).severity, "high");
});

test("registers as mirror-model with its adapter and model in the metadata", async () => {
  const client = new Svcm(bus.nc).client();
  const infos = [];
  for await (const info of await client.info(MODEL_SERVICE)) infos.push(info);
  assert.equal(infos.length, 1);
  assert.equal(infos[0]?.metadata?.adapter, "rules");
  assert.equal(infos[0]?.metadata?.model, "rules-v1");
  assert.ok(infos[0]?.endpoints.some((e) => e.subject === "mirror.model.triage" && e.queue_group === "mirror-model"));
});
