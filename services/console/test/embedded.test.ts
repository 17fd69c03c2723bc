// The console under the real defaults: a fresh `pnpm start` with embedded nats-server and
// redis-server, identity on (permissions from MESH_IDENTITIES, Redis users per service). The
// owner adds a user with the CLI, logs in, acknowledges a loop, and the loop-detector records
// `user:<name>` — every step through the console's own identity and the bus's permissions.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import type { Loop } from "@mirror/contracts";
import { makeRepo, REPO_ROOT, startMesh, tempDir, waitFor } from "@mirror/testkit";
import { login, readStreamUntil } from "./harness.js";

/** A free port on 127.0.0.1 (bound and released). */
function port(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

test("embedded servers, identity on: user add, login, acknowledge through the console as user:<name>", {
  timeout: 300_000,
}, async () => {
  const [natsPort, redisPort, consolePort] = [await port(), await port(), await port()];
  const root = tempDir("mirror-console-embedded-");
  writeFileSync(join(makeRepo(join(root, "wip")), "notes.txt"), "unfinished\n");
  const url = `http://127.0.0.1:${consolePort}`;
  const yaml = `bus: { url: "nats://127.0.0.1:${natsPort}" }
store: { url: "redis://127.0.0.1:${redisPort}" }
scanner: { port: 0, roots: [ "${root}" ], interval: 1s }
loops: { port: 0, rules: { repo.dirty: { after: 0s } } }
console: { port: ${consolePort}, publicUrl: "${url}" }
`;
  const names = ["scanner", "loop-detector", "console"];
  const env = { MIRROR_NATS_URL: "", MIRROR_REDIS_URL: "", MIRROR_IDENTITY_DIR: "", MIRROR_IDENTITY: "" };
  const mesh = startMesh(yaml, { names, env });
  try {
    for (const name of names) await mesh.waitForLine(new RegExp(`^${name}\\s.*"msg":"service started"`), 180_000);
    assert.ok(
      mesh.output.some((l) => l.startsWith("mirror: made the mesh's identities")),
      "pnpm start made the identities",
    );
    assert.ok(
      mesh.output.some((l) => /^console\s.*"verifies":true.*"msg":"bus connected"/.test(l)),
      "the console connected with its own key",
    );
    const added = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = execFile(
        "pnpm",
        ["mirror", "user", "add", "alice", "--role", "operator", "--password-stdin"],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, MIRROR_CONFIG: mesh.configFile, MIRROR_DATA_DIR: mesh.dataDir, ...env },
        },
        (err, _out, stderr) => resolve({ code: err ? 1 : 0, stderr }),
      );
      child.stdin?.end("pw\n");
    });
    assert.equal(added.code, 0, added.stderr);
    const alice = await login(url, "alice", "pw");
    const get = (path: string) => fetch(`${url}${path}`, { headers: { cookie: alice.cookie } });
    const loop = await waitFor(
      "the dirty repo's loop, read through the console",
      async () => ((await (await get("/api/loops?status=open")).json()) as { loops: Loop[] }).loops[0],
      { timeout: 60_000, interval: 300 },
    );
    // A page watching first: the console subscribes to the loop feed (its key may subscribe to
    // mirror.loop.>, nothing else of the stream), and the acknowledgement arrives live.
    const events = await fetch(`${url}/api/events`, { headers: { cookie: alice.cookie, "last-event-id": "0" } });
    const acked = await fetch(`${url}/api/loops/${loop.id}/ack`, {
      method: "POST",
      headers: { cookie: alice.cookie, "x-csrf-token": alice.csrf },
    });
    assert.equal(acked.status, 200, await acked.clone().text());
    const after = ((await (await get(`/api/loops/${loop.id}`)).json()) as { loop: Loop }).loop;
    assert.equal(after.status, "acknowledged");
    assert.equal(after.history.at(-1)?.by, "user:alice");
    await readStreamUntil(
      events,
      new RegExp(`event: loop\ndata: [^\n]*"loopId":"${loop.id}","status":"acknowledged"`),
      20_000,
    );
    const repos = (await (await get("/api/repos")).json()) as { repos: { path: string }[] };
    assert.equal(repos.repos.length, 1, "the scanner's repo list reaches the console");
    assert.ok(
      !mesh.output.some((l) => /^console\s.*Permissions Violation/i.test(l)),
      "the console stays inside its permissions",
    );
    const errors = mesh.output.filter((l) => /^console\s.*"level":"(error|fatal)"/.test(l));
    assert.deepEqual(
      errors,
      [],
      "the console bound its durable consumer, subscribed to its live feed and logged no error",
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${mesh.output.slice(-30).join("\n")}`);
  } finally {
    await mesh.stop();
  }
});
