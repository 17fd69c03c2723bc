// A probe's garbage answer is a failed check with a reason, never a crash: property tests over
// what a peer may send back (random bytes from a TCP peer, random JSON from RDAP and the Docker
// Engine API, random ping output).
import assert from "node:assert/strict";
import { createServer as createHttp } from "node:http";
import { createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { parseCondition } from "../src/conditions.js";
import { probeContainer } from "../src/probes/docker.js";
import { RdapClient } from "../src/probes/domain.js";
import { parsePing } from "../src/probes/icmp.js";
import { prepareRedis, probeRedis } from "../src/probes/redis.js";
import { startDockerFake } from "./peers/docker-engine.js";

let reply: Buffer = Buffer.alloc(0);
let tcp: Server;
let port = 0;
before(async () => {
  tcp = createServer((s) => {
    s.on("error", () => undefined);
    s.resume();
    s.end(reply);
  });
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  port = (tcp.address() as { port: number }).port;
});
after(async () => {
  await new Promise<void>((r) => tcp.close(() => r()));
});

test("property: whatever bytes a peer answers a Redis probe with, the probe settles down (or up only on +PONG) with a reason", async () => {
  const target = prepareRedis({ url: `redis://127.0.0.1:${port}`, password: "pw", timeout: 500 });
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
      reply = Buffer.from(bytes);
      const r = await probeRedis(target, [], () => Date.now());
      assert.equal(r.reachable, false, "AUTH+PING need two good replies");
      assert.ok(r.error && r.error.length > 0);
    }),
    { numRuns: 40 },
  );
});

test("property: any JSON (or not) from an RDAP server is a status with a reason, never a throw", async () => {
  let body = "";
  const srv = createHttp((_req, res) => {
    res.writeHead(200, { "content-type": "application/rdap+json" });
    res.end(body);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/`;
  const client = new RdapClient({ now: () => Date.now() });
  const cond = [parseCondition("domain.expiresIn > 30d")];
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.json(), fc.string(), fc.constant('{"events":[{"eventAction":"expiration","eventDate":"soon"}]}')),
        async (text) => {
          body = text;
          const r = await client.probe({ name: "home.example", rdap: url, timeout: 1_000 }, cond);
          if (r.domain) assert.ok(!Number.isNaN(Date.parse(r.domain.expiresAt)));
          else assert.ok(r.error, "no expiry: a reason says why");
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test("property: any JSON from the Docker Engine API is a status with a reason, never a throw", async () => {
  const docker = await startDockerFake();
  let body = "";
  docker.override = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  };
  try {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string()), async (text) => {
        body = text;
        const r = await probeContainer(docker.socket, "web", 1_000, [parseCondition("restarts < 3")], () => Date.now());
        assert.ok(r.reachable || r.error);
      }),
      { numRuns: 60 },
    );
  } finally {
    await docker.close();
  }
});

test("property: parsePing never throws, and reads only counts it can trust", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => {
      const p = parsePing(s);
      if (p) assert.ok(Number.isInteger(p.sent) && Number.isInteger(p.received));
    }),
  );
});
