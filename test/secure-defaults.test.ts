// Issue 27's acceptance for the bus and the store, tried as a local attacker would: a fresh
// `pnpm start` with embedded servers and nothing configured makes the identities itself, the
// embedded nats-server refuses an anonymous client, the embedded redis-server refuses its default
// user, and each service's Redis user reaches only its own prefix. The owner's `pnpm mirror`
// finds the identity by itself. MIRROR_IDENTITY=off is the one opt-out, said loudly.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { redisExchange } from "../packages/cli/src/secure-start.js";
import { storePassword } from "@mirror/kit";
import { makeRepo, REPO_ROOT, startMesh, tempDir, waitFor } from "@mirror/testkit";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { listenablePort } from "./faults-kit/mesh.js";

/** One reply (or the error's message) of a Redis command through a client with no retries. */
async function tryRedis(
  port: number,
  login: { username?: string; password?: string },
  run: (r: Redis) => Promise<unknown>,
): Promise<string> {
  const r = new Redis({
    port,
    host: "127.0.0.1",
    ...login,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  r.on("error", () => undefined);
  try {
    await r.connect();
    return String(await run(r));
  } catch (err) {
    return (err as Error).message;
  } finally {
    r.disconnect();
  }
}

test("fresh pnpm start with embedded servers: identity on, anonymous NATS refused, Redis refuses a client that does not log in as a service (default user on with a random password nobody is given), one service cannot read another's keys", {
  timeout: 300_000,
}, async () => {
  const [natsPort, redisPort, scannerPort, loopsPort] = [
    await listenablePort(),
    await listenablePort(),
    await listenablePort(),
    await listenablePort(),
  ];
  const repo = makeRepo(join(tempDir("mirror-secure-"), "repo"));
  const yaml = `bus: { url: "nats://127.0.0.1:${natsPort}" }
store: { url: "redis://127.0.0.1:${redisPort}" }
scanner: { port: ${scannerPort}, roots: [ "${join(repo, "..")}" ], interval: 1s }
loops: { port: ${loopsPort} }
`;
  // Empty overrides: nothing listens at this mirror.yaml's URLs, so pnpm start embeds both servers.
  const mesh = startMesh(yaml, {
    names: ["scanner", "loop-detector"],
    env: { MIRROR_NATS_URL: "", MIRROR_REDIS_URL: "", MIRROR_IDENTITY_DIR: "", MIRROR_IDENTITY: "" },
  });
  const idDir = join(mesh.dataDir, "identity");
  try {
    for (const name of ["scanner", "loop-detector"])
      await mesh.waitForLine(new RegExp(`^${name}\\s*\\| .*"msg":"service started"`), 180_000);
    assert.ok(
      mesh.output.some((l) => l.startsWith(`mirror: made the mesh's identities in ${idDir}`)),
      "pnpm start made the identities",
    );
    for (const name of ["scanner", "loop-detector", "operator"])
      assert.equal(statSync(join(idDir, `${name}.nk`)).mode & 0o777, 0o600, `${name}.nk is 0600`);
    assert.ok(
      mesh.output.some((l) => /^scanner\s*\| .*"verifies":true.*"msg":"bus connected"/.test(l)),
      "the scanner connected with its key and verifies",
    );

    // The embedded nats-server's monitoring endpoint answers on loopback (JetStream health without an exporter).
    const monitor = mesh.output
      .map((l) => /the embedded nats-server's monitoring endpoint: http:\/\/127\.0\.0\.1:(\d+)\/varz/.exec(l)?.[1])
      .find(Boolean);
    if (natsPort + 4000 <= 65535) {
      assert.ok(monitor, "pnpm start names the monitoring endpoint");
      assert.equal((await fetch(`http://127.0.0.1:${monitor}/varz`)).status, 200);
    }

    // NATS: an anonymous client is refused.
    const anon = await connect({
      servers: `nats://127.0.0.1:${natsPort}`,
      maxReconnectAttempts: 0,
      timeout: 3_000,
    }).then(
      async (nc) => {
        await nc.close();
        return "connected";
      },
      (err: Error) => err.name,
    );
    assert.equal(anon, "AuthorizationError");

    // Redis: no login gets NOAUTH; the default user is on (see defaultUserAclLine) but its password is random and
    // never written, so neither an empty password nor a guess logs in.
    assert.deepEqual(await redisExchange("127.0.0.1", redisPort, [["PING"]]), ["-NOAUTH Authentication required."]);
    assert.match((await redisExchange("127.0.0.1", redisPort, [["AUTH", "default", ""]]))[0] ?? "", /^-WRONGPASS/);
    assert.match((await redisExchange("127.0.0.1", redisPort, [["AUTH", "nopass-guess"]]))[0] ?? "", /^-WRONGPASS/);
    const login = (name: string) => ({
      username: name,
      password: storePassword(readFileSync(join(idDir, `${name}.nk`), "utf8")),
    });
    assert.match((await redisExchange("127.0.0.1", redisPort, [["AUTH", "scanner", "guess"]]))[0] ?? "", /^-WRONGPASS/);

    // The services work under their users: the scanner's snapshot becomes loop-detector state.
    const ownKeys = (name: string) =>
      tryRedis(
        redisPort,
        login(name),
        async (r) => (await r.scan("0", "MATCH", `mirror:${name}:*`, "COUNT", "1000"))[1].length,
      );
    await waitFor(
      "the scanner's and the loop-detector's own keys",
      async () => Number(await ownKeys("scanner")) > 0 && Number(await ownKeys("loop-detector")) > 0,
      { timeout: 60_000, interval: 250 },
    );
    assert.deepEqual(
      mesh.output.filter((l) => /NOPERM|WRONGPASS|NOAUTH/.test(l)),
      [],
      "no service was refused by Redis",
    );
    assert.equal(
      await tryRedis(redisPort, login("scanner"), (r) => r.set("mirror:scanner:probe", "1")),
      "OK",
      "the scanner writes its own prefix",
    );
    // ... and reaches nothing else: another service's keys, a silence, the keyspace.
    assert.match(await tryRedis(redisPort, login("scanner"), (r) => r.get("mirror:loop-detector:loops")), /NOPERM/);
    assert.match(
      await tryRedis(redisPort, login("scanner"), (r) => r.hset("mirror:notifier:silences", "x", "{}")),
      /NOPERM/,
    );
    assert.match(await tryRedis(redisPort, login("scanner"), (r) => r.keys("*")), /NOPERM/);
    assert.match(await tryRedis(redisPort, login("loop-detector"), (r) => r.flushall()), /NOPERM/);

    // The owner's CLI finds the identity pnpm start made, with no variable set.
    const loops = spawnSync("pnpm", ["mirror", "loops"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: {
        ...process.env,
        MIRROR_CONFIG: mesh.configFile,
        MIRROR_DATA_DIR: mesh.dataDir,
        MIRROR_NATS_URL: "",
        MIRROR_REDIS_URL: "",
        MIRROR_IDENTITY_DIR: "",
      },
    });
    assert.equal(loops.status, 0, `pnpm mirror loops: ${loops.stderr}`);
  } finally {
    await mesh.stop();
  }
});

test("MIRROR_IDENTITY=off is the one opt-out, and it is said loudly", { timeout: 120_000 }, async () => {
  const [natsPort, redisPort, modelPort] = [await listenablePort(), await listenablePort(), await listenablePort()];
  const mesh = startMesh(
    `bus: { url: "nats://127.0.0.1:${natsPort}" }\nstore: { url: "redis://127.0.0.1:${redisPort}" }\nmodel: { port: ${modelPort} }\n`,
    {
      names: ["model-rules"],
      env: { MIRROR_NATS_URL: "", MIRROR_REDIS_URL: "", MIRROR_IDENTITY_DIR: "", MIRROR_IDENTITY: "off" },
    },
  );
  try {
    await mesh.waitForLine(/^model-rules\s*\| .*"msg":"service started"/, 120_000);
    assert.ok(mesh.output.some((l) => /^mirror: WARNING: MIRROR_IDENTITY=off: identity is OFF/.test(l)));
    assert.ok(mesh.output.some((l) => /^model-rules\s*\| .*"identity":"anonymous"/.test(l)));
    const nc = await connect({ servers: `nats://127.0.0.1:${natsPort}`, maxReconnectAttempts: 0, timeout: 3_000 });
    await nc.close();
  } finally {
    await mesh.stop();
  }
});
