// Authenticated by default: with no http.token, state changes over HTTP need the data folder's
// token (made at first start), services bind loopback, and a non-loopback bind with no
// credential is refused. Config errors never show a value from ${VAR} or { secretFile }.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  buildHttp,
  ConfigError,
  createLogger,
  ensureHttpToken,
  isLoopback,
  parseConfig,
  resolveHttpCredential,
  runService,
  UnprotectedListenError,
} from "@mirror/kit";
import { REPO_ROOT, startNats, startRedis, tempDir } from "@mirror/testkit";
import { Registry } from "prom-client";

const quiet = { write: () => true } as never;

test("a config error never shows a value from { secretFile } or ${VAR}, even in a field that echoes its input", () => {
  const dir = tempDir("mirror-redact-");
  writeFileSync(join(dir, "token.txt"), "file-secret-Zq9xK2\n");
  const file = join(dir, "mirror.yaml");
  const env = { PLAIN_VAR: "env-value-Lm3pR7", SHORT: "x1" };
  const cases = [
    "tracker: { resyncEvery: { secretFile: token.txt } }\n",
    'tracker: { resyncEvery: "${PLAIN_VAR}" }\n',
    'tracker: { resyncEvery: "every ${PLAIN_VAR}" }\n',
    'tracker: { resyncEvery: "${SHORT}" }\n',
  ];
  for (const yaml of cases) {
    let err: unknown;
    try {
      parseConfig(yaml, env, file);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError, `${yaml} is refused`);
    assert.ok(
      err.problems.some((p) => p.startsWith("tracker.resyncEvery: invalid duration")),
      `the problem still names the key: ${err.message}`,
    );
    for (const secret of ["file-secret-Zq9xK2", "env-value-Lm3pR7", '"x1"'])
      assert.ok(!err.message.includes(secret), `${secret} leaked: ${err.message}`);
    assert.match(err.message, /\[redacted\]/);
  }
  // A literal in the file is the owner's own text: still shown, so the problem stays clear.
  assert.throws(() => parseConfig('tracker: { resyncEvery: "soon" }\n', env, file), /invalid duration "soon"/);
});

test("a ConfigError a service raises about the parsed config is redacted too (a bad condition from ${VAR})", async () => {
  const config = parseConfig(
    'tracker: { checks: [ { name: web, http: { url: "http://127.0.0.1:1/" }, conditions: ["${COND}"] } ] }\n',
    { COND: "body.key == sk-live-Qw8e" },
  );
  const spec = {
    name: "kit-redact",
    port: () => 0,
    start: async () => undefined,
    routes: (_http: unknown, c: typeof config) => {
      throw new ConfigError("mirror.yaml", [
        `tracker.checks.0.conditions: check "web": condition "${c.tracker.checks[0]?.conditions[0]}" does not parse`,
      ]);
    },
  };
  await assert.rejects(
    runService(spec, {
      config,
      env: { MIRROR_DATA_DIR: join(tempDir("mirror-data-"), ".mirror") },
      port: 0,
      logDest: quiet,
    }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(!err.message.includes("sk-live-Qw8e"), err.message);
      assert.match(err.message, /condition "\[redacted\]" does not parse/);
      return true;
    },
  );
});

test("with no token at all, buildHttp refuses every state change and keeps reads open", async () => {
  const app = buildHttp({ log: createLogger("t", quiet, "silent"), registry: new Registry(), ready: () => ({}) });
  app.post("/loops/:id/close", async () => ({ ok: true }));
  app.get("/loops", async () => ({ loops: [] }));
  const res = await app.inject({ method: "POST", url: "/loops/x/close" });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error.code, "MIRROR_ERR_UNAUTHORIZED");
  assert.equal(
    (await app.inject({ method: "POST", url: "/loops/x/close", headers: { authorization: "Bearer anything-at-all" } }))
      .statusCode,
    401,
  );
  assert.equal((await app.inject({ method: "GET", url: "/loops" })).statusCode, 200);
  await app.close();
});

test("a service with no http.token makes the data folder's token (0600 in 0700), binds 127.0.0.1, and needs it for a POST", async () => {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const data = join(tempDir("mirror-data-"), "fresh", ".mirror");
  const env = { MIRROR_DATA_DIR: data };
  const config = parseConfig("", { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url });
  const spec = {
    name: "kit-auth",
    port: () => 0,
    start: async () => undefined,
    routes: (http: import("fastify").FastifyInstance) =>
      void http.post("/loops/:id/close", async () => ({ closed: true })),
  };
  try {
    const svc = await runService(spec, { config, env, port: 0, logDest: quiet });
    const tokenFile = join(data, "http-token");
    const token = readFileSync(tokenFile, "utf8").trim();
    try {
      assert.equal(Buffer.from(token, "base64url").length, 32, "32 random bytes, base64url");
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      assert.equal(statSync(data).mode & 0o777, 0o700);
      assert.equal(svc.httpToken, token);
      const addr = svc.ctx.http.server.address();
      assert.ok(addr && typeof addr === "object" && addr.address === "127.0.0.1", `bound to ${JSON.stringify(addr)}`);
      const post = (auth?: string) =>
        fetch(`http://127.0.0.1:${svc.port}/loops/a/close`, {
          method: "POST",
          headers: auth ? { authorization: auth } : {},
        });
      assert.equal((await post()).status, 401);
      assert.equal((await post("Bearer not-the-token")).status, 401);
      assert.equal((await post(`Bearer ${token}`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${svc.port}/metrics`)).status, 200, "reads stay open on loopback");
    } finally {
      await svc.stop();
    }
    const again = await runService(spec, { config, env, port: 0, logDest: quiet });
    await again.stop();
    assert.equal(again.httpToken, token, "the token survives a restart");
  } finally {
    await Promise.all([nats.dispose(), redis.dispose()]);
  }
});

test("beyond loopback with no credential the service refuses to start; a token file or http.token lets it", async () => {
  assert.ok(
    isLoopback("127.0.0.1") &&
      isLoopback("::1") &&
      isLoopback("localhost") &&
      !isLoopback("0.0.0.0") &&
      !isLoopback("192.168.1.5"),
  );
  const data = join(tempDir("mirror-data-"), ".mirror");
  const config = parseConfig("", { MIRROR_NATS_URL: "nats://127.0.0.1:1", MIRROR_REDIS_URL: "redis://127.0.0.1:1" });
  const spec = { name: "kit-exposed", port: () => 0, start: async () => undefined };
  await assert.rejects(
    runService(spec, { config, env: { MIRROR_DATA_DIR: data, MIRROR_HTTP_HOST: "0.0.0.0" }, port: 0, logDest: quiet }),
    (err: unknown) => {
      assert.ok(err instanceof UnprotectedListenError);
      assert.equal(err.code, "MIRROR_ERR_UNPROTECTED_LISTEN");
      assert.match(err.message, /refusing to listen on 0\.0\.0\.0 with no HTTP credential/);
      return true;
    },
  );
  assert.throws(() => statSync(join(data, "http-token")), "no token was made up for others to guess");

  // The real process: exit 2 with the message, before any bus or store is needed.
  const dir = tempDir("mirror-exposed-");
  writeFileSync(join(dir, "mirror.yaml"), "{}\n");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MIRROR_CONFIG: join(dir, "mirror.yaml"),
    MIRROR_DATA_DIR: join(dir, ".mirror"),
    MIRROR_HTTP_HOST: "0.0.0.0",
  };
  delete env.MIRROR_HTTP_TOKEN_FILE;
  const r = spawnSync(process.execPath, ["--import", "tsx", "services/model-rules/src/main.ts"], {
    cwd: REPO_ROOT,
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 with no HTTP credential/);

  // A token file someone put there (compose, or pnpm start's) or http.token is a credential.
  const made = ensureHttpToken(join(data, "http-token"));
  assert.deepEqual(resolveHttpCredential({ host: "0.0.0.0", env: { MIRROR_DATA_DIR: data } }), {
    token: made.token,
    source: "file",
    file: join(data, "http-token"),
  });
  assert.equal(resolveHttpCredential({ host: "0.0.0.0", configured: "configured-token", env: {} }).source, "config");
});
