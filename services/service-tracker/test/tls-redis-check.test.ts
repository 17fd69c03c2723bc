import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { runTracker, startHttp } from "./harness.js";
import { selfSigned, startTlsServer } from "./peers/tls-cert.js";

let nats: ServerHandle;
let redis: ServerHandle;
let guarded: ServerHandle;
const PASSWORD = "r3dis-pass word";
before(async () => {
  [nats, redis, guarded] = await Promise.all([
    startNats(),
    startRedis(),
    startRedis({ args: ["--requirepass", PASSWORD] }),
  ]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose(), guarded.dispose()]);
});

const DAY = 86_400_000;

test("a tls check reads the certificate of a non-HTTP TLS port (self-signed by openssl): expiry and issuer in the status, conditions on cert.expiresIn", async () => {
  const tls = await startTlsServer(selfSigned(10));
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: imaps, interval: 100ms, tls: { host: 127.0.0.1, port: ${tls.port}, tlsVerify: false, timeout: 2s } }
    - { name: imaps-strict, interval: 100ms, tls: { host: 127.0.0.1, port: ${tls.port}, timeout: 2s } }
    - { name: imaps-month, interval: 100ms, tls: { host: localhost, port: ${tls.port}, tlsVerify: false, timeout: 2s }, conditions: ["cert.expiresIn > 30d"] }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const up = await run.waitState("imaps", "up");
    assert.equal(up.kind, "tls");
    assert.ok(up.cert, "the certificate is in the status, where the loop-detector's cert.expiring reads it");
    const left = Date.parse(up.cert.expiresAt) - Date.now();
    assert.ok(left > 9 * DAY && left <= 10 * DAY + 60_000, `expires in ~10 days, got ${left / DAY}`);
    assert.equal(up.cert.issuer, "Mirror Test CA");
    assert.equal(up.details.target, `127.0.0.1:${tls.port}`);
    // Verified by default: a self-signed certificate is refused, with the TLS reason.
    const strict = await run.waitState("imaps-strict", "down");
    assert.match(strict.reason ?? "", /TLS error: .*SELF_SIGNED/);
    const month = await run.waitState("imaps-month", "degraded");
    assert.equal(month.failedConditions[0]?.condition, "cert.expiresIn > 30d");
  } finally {
    await run.stop();
    await tls.close();
  }
});

test("a tls check against a port that does not speak TLS is down with the reason", async () => {
  const open = new Set<import("node:net").Socket>();
  const plain = createServer((s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
    s.on("error", () => undefined);
    s.resume();
    s.end("220 smtp.home.test ESMTP ready\r\n");
  });
  await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
  const port = (plain.address() as { port: number }).port;
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: smtp, interval: 100ms, tls: { host: 127.0.0.1, port: ${port}, tlsVerify: false, timeout: 1s } }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const down = await run.waitState("smtp", "down");
    assert.match(down.reason ?? "", /TLS|SSL|closed|reset/i);
  } finally {
    await run.stop();
    // Every probe's socket is released once it settled: none stays open on the server.
    await waitFor("probe sockets closed", () => open.size === 0, { timeout: 3_000 }).catch(() => undefined);
    const left = open.size;
    for (const s of open) s.destroy();
    assert.equal(left, 0, "a probe left its socket open");
    await new Promise<void>((r) => plain.close(() => r()));
  }
});

test("redis checks connect, AUTH and PING a real redis-server; a refused or missing password is down; the password from ${VAR} is never logged or published", async () => {
  const port = guarded.url.split(":").pop();
  const web = await startHttp();
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: cache, interval: 100ms, redis: { url: "redis://:\${REDIS_PASSWORD}@127.0.0.1:${port}/2", timeout: 1s } }
    - { name: cache-field, interval: 100ms, redis: { url: "redis://127.0.0.1:${port}", password: "\${REDIS_PASSWORD}", timeout: 1s } }
    - { name: open, interval: 100ms, redis: { url: "${redis.url}", timeout: 1s }, conditions: ["latency < 1s"] }
    - { name: wrong, interval: 100ms, redis: { url: "redis://127.0.0.1:${port}", password: "not-it", timeout: 1s } }
    - { name: nopass, interval: 100ms, redis: { url: "redis://127.0.0.1:${port}", timeout: 1s } }
    - { name: http-not-redis, interval: 100ms, redis: { url: "redis://127.0.0.1:${web.port}", timeout: 1s } }`,
    { nats: nats.url, redis: redis.url },
    { env: { REDIS_PASSWORD: PASSWORD } },
  );
  try {
    const up = await run.waitState("cache", "up");
    assert.equal(up.kind, "redis");
    assert.equal(up.details.target, `127.0.0.1:${port}`);
    await run.waitState("cache-field", "up");
    await run.waitState("open", "up");
    const wrong = await run.waitState("wrong", "down");
    assert.match(wrong.reason ?? "", /refused the password \(WRONGPASS\)/);
    const nopass = await run.waitState("nopass", "down");
    assert.match(nopass.reason ?? "", /NOAUTH/);
    const notRedis = await run.waitState("http-not-redis", "down");
    assert.match(notRedis.reason ?? "", /not a Redis reply|closed/);
    const everything = JSON.stringify(run.statuses) + run.logs.join("");
    assert.ok(run.logs.length > 0, "the service logged");
    assert.ok(!everything.includes(PASSWORD), "the password is in no status and no log line");
  } finally {
    await run.stop();
    await web.close();
  }
});
