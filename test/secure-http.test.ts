// Issue 27's HTTP acceptance, as an attacker on the host or the LAN would try it: a fresh
// `pnpm start` with no token configured makes the data folder's token, a POST that changes a
// loop without it is 401, no service listens beyond loopback, `GET /ping/<check name>` records
// nothing, and `pnpm mirror checks` shows the ping URL whose key records with no token.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort, REPO_ROOT, type ServerHandle, startMesh, startNats, startRedis, waitFor } from "@mirror/testkit";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

/** Local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6). */
function listeners(port: number): string[] {
  const out: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== "0A" || !local) continue; // 0A: LISTEN
      const [addr, hexPort] = local.split(":");
      if (Number.parseInt(hexPort ?? "", 16) === port) out.push(addr as string);
    }
  }
  return out;
}
const LOOPBACK = new Set(["0100007F", "00000000000000000000000001000000"]);

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("pnpm", ["mirror", ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

test("fresh pnpm start, no token configured: POST /loops/... is 401, loopback only, /ping/<name> records nothing", {
  timeout: 240_000,
}, async () => {
  const [trackerPort, loopsPort] = [await freePort(), await freePort()];
  const yaml = `tracker: { port: ${trackerPort}, mesh: { enabled: false }, checks: [ { name: nightly-backup, heartbeat: { every: 1h, grace: 5m } } ] }
loops: { port: ${loopsPort} }
`;
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "" };
  const mesh = startMesh(yaml, { names: ["service-tracker", "loop-detector"], env });
  try {
    for (const name of ["service-tracker", "loop-detector"])
      await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 120_000);
    const tokenFile = join(mesh.dataDir, "http-token");
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = mesh.httpToken();

    const loops = `http://127.0.0.1:${loopsPort}`;
    const post = (path: string, body: unknown, auth?: string) =>
      fetch(`${loops}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify(body),
      });
    for (const [path, body] of [
      ["/loops/0123456789abcdef/close", {}],
      ["/loops/0123456789abcdef/snooze", { for: "3650d" }],
      ["/loops/0123456789abcdef/ack", {}],
    ] as const) {
      assert.equal((await post(path, body)).status, 401, `${path} without a credential`);
      assert.equal((await post(path, body, "Bearer guessed-token-123")).status, 401, `${path} with a wrong token`);
      assert.notEqual(
        (await post(path, body, `Bearer ${token}`)).status,
        401,
        `${path} with the token gets past the check`,
      );
    }
    assert.equal((await fetch(`${loops}/loops`)).status, 200, "reads stay open on loopback");

    for (const port of [trackerPort, loopsPort]) {
      const addrs = listeners(port);
      assert.ok(addrs.length > 0, `something listens on ${port}`);
      assert.deepEqual(
        addrs.filter((a) => !LOOPBACK.has(a)),
        [],
        `port ${port} listens beyond loopback`,
      );
    }

    const tracker = `http://127.0.0.1:${trackerPort}`;
    assert.equal((await fetch(`${tracker}/ping/nightly-backup`)).status, 401);
    assert.equal((await fetch(`${tracker}/ping/nightly-backup`, { method: "POST" })).status, 401);
    const unknown = await fetch(`${tracker}/ping/not-a-key`);
    assert.equal(unknown.status, 404);
    assert.ok(!(await unknown.text()).includes("nightly-backup"), "the 404 lists no check");

    const cliEnv = { MIRROR_CONFIG: mesh.configFile, MIRROR_DATA_DIR: mesh.dataDir, ...env };
    const listed = await cli(["checks", "--json"], cliEnv);
    assert.equal(listed.code, 0, listed.stderr);
    const [check] = (JSON.parse(listed.stdout) as { checks: { name: string; state: string; pingUrl?: string }[] })
      .checks;
    assert.equal(check?.name, "nightly-backup");
    assert.equal(check?.state, "unknown", "the pings by name recorded nothing");
    assert.match(check?.pingUrl ?? "", new RegExp(`^http://127\\.0\\.0\\.1:${trackerPort}/ping/[A-Za-z0-9_-]{22}$`));

    assert.equal((await fetch(check?.pingUrl as string)).status, 200, "the ping key records with no token");
    await waitFor(
      "nightly-backup up",
      async () => {
        const r = await cli(["checks", "--json"], cliEnv);
        return r.code === 0 && (JSON.parse(r.stdout) as { checks: { state: string }[] }).checks[0]?.state === "up";
      },
      { timeout: 30_000 },
    );
    const table = await cli(["checks"], cliEnv);
    assert.match(table.stdout, /^NAME\s+KIND\s+STATE\s+FOR\s+PING URL/m);
    assert.match(table.stdout, /nightly-backup\s+heartbeat\s+up\s+\S+\s+http:\/\/127\.0\.0\.1:\d+\/ping\//);
  } finally {
    await mesh.stop();
  }
});
