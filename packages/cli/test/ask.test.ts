import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { serviceStatus } from "@mirror/contracts";
import { connectBus, createLogger, parseConfig } from "@mirror/kit";
import { freePort, type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
let nats: ServerHandle;
let redis: ServerHandle;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number>;
}

function start(args: string[], e: NodeJS.ProcessEnv = env): Run {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: root,
    env: e,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number>((r) => child.once("exit", (code) => r(code ?? -1)));
  return { child, out: () => out, err: () => err, exit };
}

const ask = (...args: string[]) => start(["packages/cli/src/main.ts", "ask", ...args]);

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const dir = tempDir();
  const file = join(dir, "mirror.yaml");
  writeFileSync(file, `model: { port: ${await freePort()} }\n`);
  env = {
    ...process.env,
    MIRROR_CONFIG: file,
    MIRROR_NATS_URL: nats.url,
    MIRROR_REDIS_URL: redis.url,
    MIRROR_LOG_LEVEL: "warn",
    MIRROR_IDENTITY_DIR: "",
  };
  const bus = await connectBus("service-tracker", {
    config: parseConfig("", env),
    env,
    log: createLogger("t", { write: () => true } as never, "silent"),
  });
  const at = new Date(Date.now() - 300_000).toISOString();
  await bus.publish(
    serviceStatus,
    "web",
    { name: "web", kind: "http", state: "down", observedAt: at, seq: 1, since: at, reason: "HTTP 502" },
    { id: "web-1" },
  );
  await bus.close();
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
  await nats?.dispose();
  await redis?.dispose();
});

test("an empty question is refused with the reason, before anything is contacted", async () => {
  const run = ask("   ");
  assert.equal(await run.exit, 2);
  assert.match(run.err(), /mirror ask: the question is empty/);
});

test("a NATS that does not answer is an error at once", async () => {
  const run = start(["packages/cli/src/main.ts", "ask", "what is broken?"], {
    ...env,
    MIRROR_NATS_URL: `nats://127.0.0.1:${await freePort()}`,
  });
  assert.equal(await run.exit, 1);
  assert.match(run.err(), /cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+/);
});

test("with no adapter running it waits a bounded time, then says how to start one", async () => {
  const run = ask("what is broken?", "--wait", "300ms");
  assert.equal(await run.exit, 1);
  assert.match(run.err(), /no model adapter is running: start one with `pnpm start model-rules`/);
});

test("an adapter that starts while ask waits answers, with the services from the stream", async () => {
  const run = ask("what is broken?", "--wait", "30s");
  await waitFor("ask to be waiting for the model", () => /answering without loops/.test(run.err()), {
    timeout: 60_000,
  });
  start(["services/model-rules/src/main.ts"]);
  assert.equal(await run.exit, 0, run.err());
  // Down since 5 minutes before the suite started: on a loaded machine the suite may take more than 30 s to get here,
  // and the answer rounds the real elapsed time (6 minutes seen in a full run).
  assert.match(run.out(), /Services not up \(1 of 1\):\n- web is down for [5-7] minutes: HTTP 502/);
  assert.match(run.out(), /— rules \(rules-v1\)\n$/);
  const json = ask("is the nas up?", "--json");
  assert.equal(await json.exit, 0, json.err());
  assert.equal(JSON.parse(json.out()).adapter, "rules");
});
