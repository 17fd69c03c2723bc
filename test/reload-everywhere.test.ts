// Issue 23's hot reload across the whole mesh, as a user runs it: `pnpm start` of every service,
// one process each. A half-written mirror.yaml is rejected by every service (logged, counted,
// each keeps its process and config); the completed save is then applied by every one of them,
// with what changed and what needs a restart in its log, and the console serves the status page
// the save added, with no process restarted. The same with every service in one process (--single).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import {
  freePort,
  linesOf,
  type Mesh,
  type ServerHandle,
  servicePid,
  startMesh,
  startNats,
  startRedis,
  waitFor,
} from "@mirror/testkit";

const SERVICES = [
  "scanner",
  "service-tracker",
  "loop-detector",
  "notifier",
  "model-rules",
  "model-openai",
  "model-anthropic",
  "history",
  "console",
];

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

/** Runs the scenario on a mesh started by `command`; `separate`: each service runs in a child process (its own, or the one its manifest names). */
async function everyServiceReloads(command: string[], separate: boolean): Promise<void> {
  const consolePort = await freePort();
  const yaml = `scanner: { port: 0, roots: [], interval: 1h }
tracker: { port: 0, mesh: { enabled: false }, checks: [ { name: web, interval: 1h, tcp: { host: 127.0.0.1, port: 1 } } ] }
loops: { port: 0, triage: false }
notifier: { port: 0, channels: [] }
model:
  port: 0
  openai: { port: 0, baseUrl: "http://127.0.0.1:1/v1", model: first-model }
  anthropic: { port: 0, baseUrl: "http://127.0.0.1:1", model: first-model, apiKey: "\${ACC_ANTHROPIC_KEY}" }
history: { port: 0 }
console:
  port: ${consolePort}
  publicUrl: "http://127.0.0.1:${consolePort}"
  statusPages:
    - { slug: home, title: Home, checks: [web] }
`;
  const env = {
    MIRROR_NATS_URL: nats.url,
    MIRROR_REDIS_URL: redis.url,
    MIRROR_HTTP_HOST: "127.0.0.1",
    ACC_ANTHROPIC_KEY: "sk-ant-acceptance-0123456789",
  };
  const mesh: Mesh = startMesh(yaml, { env, command });
  const each = (pattern: RegExp) =>
    Promise.all(SERVICES.map((name) => mesh.waitForLine(new RegExp(`^${name}\\s.*${pattern.source}`), 180_000)));
  try {
    await each(/"msg":"service started"/);
    const pids = SERVICES.map((name) => servicePid(mesh, name));
    if (separate)
      assert.ok(
        pids.every((p) => p !== undefined),
        `every service in a child process: ${pids}`,
      );
    const text = readFileSync(mesh.configFile, "utf8");
    const next = text
      .replaceAll("model: first-model", "model: second-model")
      .replace(
        "    - { slug: home, title: Home, checks: [web] }\n",
        "    - { slug: home, title: Home, checks: [web] }\n    - { slug: ops, title: Operations, checks: [web] }\n",
      );
    assert.notEqual(next, text);

    // Half-written: cut in the middle of the new status page's mapping.
    writeFileSync(mesh.configFile, next.slice(0, next.indexOf("title: Operations")));
    await each(/"msg":"config reload rejected; still running on the previous config"/);
    const rejected = SERVICES.map((name) => linesOf(mesh, name, /config reload rejected/)[0] ?? "");
    for (const line of rejected) assert.match(line, /not valid YAML/);
    assert.equal((await fetch(`http://127.0.0.1:${consolePort}/status/ops.json`)).status, 404);

    // The completed save: applied everywhere, the new page served.
    writeFileSync(mesh.configFile, next);
    await each(/"msg":"config reloaded"/);
    const page = await waitFor(
      "the new status page",
      async () => {
        const r = await fetch(`http://127.0.0.1:${consolePort}/status/ops.json`);
        return r.status === 200 ? ((await r.json()) as { title: string }) : undefined;
      },
      { timeout: 10_000 },
    );
    assert.equal(page.title, "Operations");
    const reloaded = (name: string) =>
      JSON.parse((linesOf(mesh, name, /"msg":"config reloaded"/)[0] ?? "").replace(/^[^{]*/, "")) as Record<
        string,
        unknown
      >;
    assert.deepEqual(reloaded("model-openai").changed, ["model"]);
    assert.deepEqual(reloaded("model-anthropic").changed, ["model"]);
    assert.deepEqual(reloaded("console").statusPages, ["home", "ops"]);
    assert.deepEqual((reloaded("scanner").sections as string[]).sort(), ["console", "model"]);
    assert.deepEqual(
      SERVICES.map((name) => servicePid(mesh, name)),
      pids,
      "no service process was restarted",
    );
    assert.deepEqual(
      SERVICES.map((name) => linesOf(mesh, name, /"msg":"service started"/).length),
      SERVICES.map(() => 1),
      "each service started once",
    );
    assert.equal(mesh.child.exitCode, null);
    assert.ok(!mesh.output.some((l) => l.includes("sk-ant-acceptance")), "the API key is in no log line");
  } finally {
    await mesh.stop();
  }
}

test("pnpm start: every service rejects a half-written mirror.yaml and applies the completed one, same processes", {
  timeout: 400_000,
}, async () => {
  await everyServiceReloads(["pnpm", "start", ...SERVICES], true);
});

test("pnpm start --single: the same, every member in the one process", { timeout: 400_000 }, async () => {
  await everyServiceReloads(["pnpm", "start", "--single", ...SERVICES], false);
});
