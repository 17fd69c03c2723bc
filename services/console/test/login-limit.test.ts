// Login rate limiting behind a reverse proxy, over real HTTP against the console in process (real
// nats-server and redis-server): the address counted is X-Forwarded-For's client only when the
// connection comes from console.trustedProxies, else the connection's own peer.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { parseConfig, type RunningService, runService } from "@mirror/kit";
import { startNats, startRedis, type ServerHandle, tempDir } from "@mirror/testkit";
import { clientAddress } from "../src/login-limit.js";
import { consoleSpec } from "../src/service.js";

let nats: ServerHandle;
let redis: ServerHandle;
let svc: RunningService;
const records: Array<Record<string, unknown>> = [];
const sink = { write: (line: string) => void records.push(JSON.parse(line)) } as never;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  // Two failures per name, so eight (four times that) per address: each attempt below uses a new
  // name, as a password sprayer would, so only the per-address count can stop it.
  const yaml = `console: { port: 0, loginAttempts: 2, loginWindow: 10m, trustedProxies: [ "127.0.0.1" ] }`;
  const config = parseConfig(yaml, { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url });
  svc = await runService(consoleSpec(), {
    config,
    env: { MIRROR_DATA_DIR: tempDir("mirror-login-limit-") },
    port: 0,
    httpToken: "test-token",
    logDest: sink,
  });
});
after(async () => {
  await svc?.stop();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

let names = 0;
/** POST /login with a wrong password for a name never used before, from `from` (the socket's local address). */
function wrongLogin(from: string, forwardedFor?: string): Promise<{ status: number; retryAfter?: string }> {
  const body = JSON.stringify({ username: `sprayed-${++names}`, password: "wrong" });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
  };
  if (forwardedFor) headers["x-forwarded-for"] = forwardedFor;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: svc.port, path: "/login", method: "POST", localAddress: from, headers },
      (res) => {
        res.resume();
        res.once("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            ...(res.headers["retry-after"] ? { retryAfter: res.headers["retry-after"] as string } : {}),
          }),
        );
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}

test("via the trusted proxy: ten wrong passwords from one forwarded address get 429 with Retry-After; another forwarded address is not limited", async () => {
  const statuses: number[] = [];
  let last: { status: number; retryAfter?: string } | undefined;
  for (let i = 0; i < 10; i++) {
    last = await wrongLogin("127.0.0.1", "203.0.113.7");
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 401, 401, 429, 429]);
  const wait = Number(last?.retryAfter);
  assert.ok(wait > 0 && wait <= 600, `Retry-After ${last?.retryAfter}`);
  // The failures were counted against the client the proxy named, not against the proxy.
  const failed = records.filter((r) => r.msg === "login failed");
  assert.equal(failed.length, 8);
  assert.ok(
    failed.every((r) => r.address === "203.0.113.7"),
    JSON.stringify(failed.map((r) => r.address)),
  );
  // Another client behind the same proxy still gets the ordinary answer.
  assert.equal((await wrongLogin("127.0.0.1", "198.51.100.9")).status, 401);
  // The limited client cannot escape by putting a made-up address in front: the proxy's entry is the right-most.
  assert.equal((await wrongLogin("127.0.0.1", "192.0.2.1, 203.0.113.7")).status, 429);
});

test("a forged X-Forwarded-For from a peer that is not a trusted proxy does not escape the limit", async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await wrongLogin("127.0.0.2", `192.0.2.${i + 10}`)).status);
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 401, 401, 429, 429]);
  const failed = records.filter((r) => r.msg === "login failed" && r.address === "127.0.0.2");
  assert.equal(failed.length, 8, "counted against the connection's own address");
});

test("clientAddress: the peer unless it is trusted; then the right-most forwarded entry that is not a trusted proxy", () => {
  const req = (peer: string, xff?: string | string[]) =>
    ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { "x-forwarded-for": xff } }) as never;
  const trusted = ["10.0.0.1", "10.0.0.2"];
  assert.equal(clientAddress(req("::ffff:192.0.2.5", "203.0.113.7"), trusted), "192.0.2.5");
  assert.equal(clientAddress(req("::ffff:10.0.0.1", "203.0.113.7"), trusted), "203.0.113.7");
  assert.equal(clientAddress(req("10.0.0.1", "198.51.100.1, 203.0.113.7, 10.0.0.2"), trusted), "203.0.113.7");
  assert.equal(clientAddress(req("10.0.0.1", ["198.51.100.1", "2001:db8::1"]), trusted), "2001:db8::1");
  assert.equal(clientAddress(req("10.0.0.1"), trusted), "10.0.0.1", "no header: the proxy itself");
  assert.equal(clientAddress(req("10.0.0.1", "not-an-address"), trusted), "10.0.0.1");
  assert.equal(clientAddress(req("10.0.0.1", "10.0.0.2"), trusted), "10.0.0.1");
  // Whatever an untrusted peer sends, the answer is that peer.
  fc.assert(fc.property(fc.string(), (xff) => clientAddress(req("192.0.2.5", xff), trusted) === "192.0.2.5"));
  // Through a trusted proxy, the answer is always an address the client cannot choose freely: the last one appended.
  fc.assert(
    fc.property(
      fc.array(fc.ipV4()),
      fc.ipV4(),
      (forged, real) =>
        clientAddress(req("10.0.0.1", [...forged, real].join(", ")), trusted) ===
        (trusted.includes(real) ? (forged.filter((a) => !trusted.includes(a)).at(-1) ?? "10.0.0.1") : real),
    ),
  );
});
