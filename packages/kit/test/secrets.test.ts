// Secrets come from ${ENV} or { secretFile }, never reach a log line, and state changes over
// HTTP need the bearer token when http.token is set.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildHttp, ConfigError, createLogger, parseConfig, runService } from "@mirror/kit";
import { startNats, startRedis, tempDir } from "@mirror/testkit";
import { nkeys } from "@nats-io/nats-core";
import { Registry } from "prom-client";

function sink() {
  const lines: string[] = [];
  return { lines, dest: { write: (s: string) => void lines.push(s) } as never };
}

test("{ secretFile } reads a value from a file next to the config; a missing file names the key path", () => {
  const dir = tempDir("mirror-secret-");
  writeFileSync(join(dir, "hook.secret"), "whsec_c2VjcmV0LWZyb20tZmlsZQ==\n");
  const file = join(dir, "mirror.yaml");
  const cfg = parseConfig(
    'notifier: { channels: [ { name: hook, type: webhook, url: "http://127.0.0.1:1/", secret: { secretFile: hook.secret } } ] }\n',
    {},
    file,
  );
  assert.equal((cfg.notifier.channels[0] as { secret?: string }).secret, "whsec_c2VjcmV0LWZyb20tZmlsZQ==");
  assert.throws(
    () => parseConfig("http: { token: { secretFile: /nonexistent/token } }\n", {}, file),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.some((p) => p.startsWith("http.token.secretFile: cannot read /nonexistent/token")),
  );
});

test("http.token: state changes need the bearer token, reads stay open unless tokenForReads", async () => {
  const log = createLogger("t", sink().dest, "silent");
  for (const tokenForReads of [false, true]) {
    const app = buildHttp({
      log,
      registry: new Registry(),
      ready: () => ({}),
      auth: { token: "s3cret-token", tokenForReads },
    });
    app.post("/loops/:id/ack", async () => ({ ok: true }));
    app.get("/loops", async () => ({ loops: [] }));
    app.get("/weird", { config: { mutates: true } }, async () => ({ ok: true }));
    const call = (method: "GET" | "POST", url: string, auth?: string) =>
      app.inject({ method, url, headers: auth ? { authorization: auth } : {} }).then((r) => r.statusCode);
    assert.equal(await call("POST", "/loops/x/ack"), 401);
    assert.equal(await call("POST", "/loops/x/ack", "Bearer wrong-token"), 401);
    assert.equal(await call("POST", "/loops/x/ack", "Bearer s3cret-token"), 200);
    assert.equal(await call("GET", "/weird"), 401, "a route marked mutates needs the token");
    assert.equal(await call("GET", "/loops"), tokenForReads ? 401 : 200);
    assert.equal(await call("GET", "/loops", "Bearer s3cret-token"), 200);
    assert.equal(await call("GET", "/healthz"), 200);
    assert.equal(await call("GET", "/readyz"), 200);
    const res = await app.inject({ method: "POST", url: "/loops/x/ack" });
    assert.equal(res.headers["www-authenticate"], 'Bearer realm="mirror"');
    assert.equal(res.json().error.code, "MIRROR_ERR_UNAUTHORIZED");
    await app.close();
  }
  const open = buildHttp({ log, registry: new Registry(), ready: () => ({}) });
  open.post("/x", async () => ({ ok: true }));
  assert.equal(
    (await open.inject({ method: "POST", url: "/x" })).statusCode,
    401,
    "with no token at all, state changes are refused",
  );
});

test("no secret reaches the logs: config values, secret files, env secrets, the seed, errors and headers", async () => {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const dir = tempDir("mirror-secret-");
  const ids = join(dir, "id");
  mkdirSync(ids, { mode: 0o700 });
  const kp = nkeys.createUser();
  const seed = new TextDecoder().decode(kp.getSeed());
  writeFileSync(join(ids, "leaky.nk"), seed);
  chmodSync(join(ids, "leaky.nk"), 0o600);
  writeFileSync(join(ids, "public-keys.json"), JSON.stringify({ leaky: kp.getPublicKey() }));
  writeFileSync(join(dir, "api.key"), "sk-file-secret-0123456789\n");
  const env = {
    MIRROR_HOOK_SECRET: "env-hook-secret-abcdef",
    MIRROR_HTTP_TOKEN: "http-token-secret-xyz",
    MIRROR_IDENTITY_DIR: ids,
  };
  const yaml = `bus: { url: "${nats.url}" }
store: { url: "${redis.url}" }
http: { token: "\${MIRROR_HTTP_TOKEN}" }
notifier: { channels: [ { name: hook, type: webhook, url: "http://user:url-password-123@127.0.0.1:1/", secret: "\${MIRROR_HOOK_SECRET}", headers: { Authorization: "Bearer header-secret-777" } } ] }
model: { openai: { model: m, apiKey: { secretFile: api.key } } }
`;
  const config = parseConfig(yaml, env, join(dir, "mirror.yaml"));
  const secrets = [
    seed,
    "sk-file-secret-0123456789",
    "env-hook-secret-abcdef",
    "http-token-secret-xyz",
    "url-password-123",
    "header-secret-777",
  ];
  const out = sink();
  const svc = await runService(
    {
      name: "leaky",
      port: () => 0,
      start: async (ctx) => {
        ctx.log.info({ config: ctx.config }, "the whole config");
        ctx.log.error({ err: new Error(`upstream said ${config.model.openai?.apiKey} was wrong`) }, "a careless error");
        ctx.log.warn(`token ${config.http.token} and seed ${seed}`);
        return undefined;
      },
    },
    { config, env, port: 0, logDest: out.dest },
  );
  try {
    await fetch(`http://127.0.0.1:${svc.port}/anything`, {
      method: "POST",
      headers: { authorization: "Bearer http-token-secret-xyz-wrong" },
    });
    await fetch(`http://127.0.0.1:${svc.port}/metrics`, { headers: { authorization: `Bearer ${config.http.token}` } });
  } finally {
    await svc.stop();
    await Promise.all([nats.dispose(), redis.dispose()]);
  }
  const text = out.lines.join("");
  assert.ok(out.lines.length >= 4, "the test captured the service's logs");
  assert.match(text, /the whole config/);
  assert.match(text, /\[redacted\]/);
  for (const s of secrets) assert.ok(!text.includes(s), `a secret leaked into the logs: ${s.slice(0, 6)}…`);
});
