import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttps } from "node:https";
import { createServer as createTcp, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ServerHandle, startNats, startRedis, tempDir } from "@mirror/testkit";
import { runTracker, startHttp, type TestHttp } from "./harness.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

function selfSigned(days: number): { key: Buffer; cert: Buffer } {
  const dir = tempDir();
  const [key, cert] = [join(dir, "k.pem"), join(dir, "c.pem")];
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      String(days),
      "-subj",
      "/CN=localhost/O=Mirror Test",
    ],
    { stdio: "ignore" },
  );
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

async function listen(server: Server | import("node:https").Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return typeof addr === "object" && addr ? addr.port : 0;
}

test("DNS failures, TLS errors, huge bodies, slow-loris servers and non-HTTP answers are each a status with a reason", async () => {
  const https = createHttps(selfSigned(30), (_req, res) => res.end("ok"));
  const httpsPort = await listen(https);
  const sockets = new Set<Socket>();
  const drip = createTcp((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.write("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n");
    const t = setInterval(() => s.write("x"), 50);
    s.on("close", () => clearInterval(t));
  });
  const garbage = createTcp((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.end("SSH-2.0-OpenSSH_9.2\r\n");
  });
  const [dripPort, garbagePort] = [await listen(drip), await listen(garbage)];
  const big: TestHttp = await startHttp();
  big.handle = (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    const chunk = Buffer.alloc(64 * 1024, "a");
    let sent = 0;
    const pump = () => {
      while (sent < 10 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end("needle");
    };
    res.on("error", () => undefined);
    pump();
  };
  const check = (name: string, rest: string) =>
    `    - { name: ${name}, interval: 200ms, failureThreshold: 1, ${rest} }`;
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  maxBody: 65536
  checks:
${check("dns", `http: { url: "http://does-not-exist.invalid/", timeout: 3s }`)}
${check("tls", `http: { url: "https://127.0.0.1:${httpsPort}/", timeout: 2s }`)}
${check("tls-ok", `http: { url: "https://127.0.0.1:${httpsPort}/", tlsVerify: false, timeout: 2s }, conditions: ["cert.expiresIn > 14d", "body == ok"]`)}
${check("tls-soon", `http: { url: "https://127.0.0.1:${httpsPort}/", tlsVerify: false, timeout: 2s }, conditions: ["cert.expiresIn > 60d"]`)}
${check("big", `http: { url: "${big.url}/", timeout: 3s }, conditions: ['body contains "needle"']`)}
${check("slow", `http: { url: "http://127.0.0.1:${dripPort}/", timeout: 500ms }, conditions: ["len(body) > 0"]`)}
${check("garbage", `http: { url: "http://127.0.0.1:${garbagePort}/", timeout: 1s }`)}`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    assert.match(
      (await run.waitState("dns", "down")).reason ?? "",
      /DNS lookup failed for does-not-exist.invalid|timed out/,
    );
    assert.match((await run.waitState("tls", "down")).reason ?? "", /TLS error: DEPTH_ZERO_SELF_SIGNED_CERT/);
    const ok = await run.waitState("tls-ok", "up");
    const days = (Date.parse(ok.cert?.expiresAt ?? "") - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days < 31, `cert expires in ${days} days`);
    assert.equal(ok.cert?.issuer, "Mirror Test");
    const soon = await run.waitState("tls-soon", "degraded");
    assert.match(soon.failedConditions[0]?.actual ?? "", /^\d+$/);
    const bigStatus = await run.waitState("big", "degraded");
    assert.equal(bigStatus.details.bodyTruncated, true);
    assert.match((await run.waitState("slow", "down")).reason ?? "", /timed out after 500ms/);
    assert.match((await run.waitState("garbage", "down")).reason ?? "", /HTTP|parse|response/i);
    const metrics = await run.svc.ctx.registry.getSingleMetricAsString("mirror_probe_success");
    assert.match(metrics, /mirror_probe_success\{check="tls-ok"\} 1/);
    assert.match(metrics, /mirror_probe_success\{check="slow"\} 0/);
  } finally {
    await run.stop();
    for (const s of sockets) s.destroy();
    await big.close();
    https.closeAllConnections();
    await Promise.all([https, drip, garbage].map((s) => new Promise((r) => s.close(r))));
  }
});

test("a TCP check is up while the port accepts connections and down with a reason when it does not", async () => {
  const tcp = createTcp((s) => s.end());
  const port = await listen(tcp);
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: db, interval: 100ms, tcp: { host: 127.0.0.1, port: ${port}, timeout: 1s }, conditions: ["latency < 1s"] }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const up = await run.waitState("db", "up");
    assert.equal(up.kind, "tcp");
    await new Promise((r) => tcp.close(r));
    const down = await run.waitState("db", "down");
    assert.match(down.reason ?? "", /connection refused/);
  } finally {
    await run.stop();
  }
});
