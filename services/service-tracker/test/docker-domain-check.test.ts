import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { RdapClient } from "../src/probes/domain.js";
import { runTracker } from "./harness.js";
import { startDockerFake } from "./peers/docker-engine.js";
import { startRdap } from "./peers/rdap.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

const DAY = 86_400_000;
const LABEL = { "mirror.check": "true" };

test("docker checks read the Engine API on a Unix socket: running, restart count, health; a stopped container is down", async () => {
  const docker = await startDockerFake([
    { id: "a1".repeat(32), name: "web", status: "running", restarts: 0, health: "healthy" },
    { id: "b2".repeat(32), name: "flappy", status: "running", restarts: 7 },
    { id: "c3".repeat(32), name: "sick", status: "running", restarts: 0, health: "unhealthy" },
    { id: "d4".repeat(32), name: "batch", status: "exited", restarts: 0, exitCode: 137 },
  ]);
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: web, interval: 100ms, docker: { container: web, socket: "${docker.socket}", timeout: 1s }, conditions: ["health == healthy", "running == true"] }
    - { name: flappy, interval: 100ms, docker: { container: flappy, socket: "${docker.socket}", timeout: 1s }, conditions: ["restarts < 5"] }
    - { name: sick, interval: 100ms, docker: { container: sick, socket: "${docker.socket}", timeout: 1s } }
    - { name: batch, interval: 100ms, docker: { container: batch, socket: "${docker.socket}", timeout: 1s } }
    - { name: ghost, interval: 100ms, docker: { container: ghost, socket: "${docker.socket}", timeout: 1s } }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const web = await run.waitState("web", "up");
    assert.equal(web.kind, "docker");
    assert.deepEqual(
      { running: web.details.running, restarts: web.details.restarts, health: web.details.health },
      { running: true, restarts: 0, health: "healthy" },
    );
    const flappy = await run.waitState("flappy", "degraded");
    assert.deepEqual(flappy.failedConditions, [{ condition: "restarts < 5", actual: "7" }]);
    const sick = await run.waitState("sick", "degraded");
    assert.deepEqual(sick.failedConditions, [{ condition: "health != unhealthy", actual: "unhealthy" }]);
    const batch = await run.waitState("batch", "down");
    assert.equal(batch.reason, "container batch is exited (exit code 137)");
    const ghost = await run.waitState("ghost", "down");
    assert.equal(ghost.reason, "no such container: ghost");
    assert.ok(docker.paths.some((p) => p.startsWith("/containers/web/json")));
  } finally {
    await run.stop();
    await docker.close();
  }
});

test("docker discover: true tracks every container labelled mirror.check=true, picks up new ones and forgets removed ones", async () => {
  const docker = await startDockerFake([
    { id: "e5".repeat(32), name: "db", status: "running", restarts: 0, labels: LABEL },
    { id: "f6".repeat(32), name: "proxy", status: "exited", restarts: 2, exitCode: 1, labels: LABEL },
    { id: "a7".repeat(32), name: "untracked", status: "running", restarts: 0 },
  ]);
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: ctr, interval: 100ms, docker: { discover: true, socket: "${docker.socket}", timeout: 1s } }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const self = await run.waitState("ctr", "up");
    assert.deepEqual(self.details.containers, ["ctr-db", "ctr-proxy"]);
    await run.waitState("ctr-db", "up");
    const proxy = await run.waitState("ctr-proxy", "down");
    assert.match(proxy.reason ?? "", /container proxy is exited \(exit code 1\)/);
    assert.equal(run.latest("ctr-untracked"), undefined);
    docker.containers.push({
      id: "b8".repeat(32),
      name: "queue",
      status: "running",
      restarts: 0,
      health: "healthy",
      labels: LABEL,
    });
    docker.containers.splice(1, 1);
    await run.waitState("ctr-queue", "up");
    await waitFor("proxy forgotten", () => !run.tracker.book.has("ctr-proxy"));
  } finally {
    await run.stop();
    await docker.close();
  }
});

test("a missing Docker socket, one without permission, or an answer that is not the Engine API: down with the reason", async () => {
  const docker = await startDockerFake([]);
  docker.override = (_req, res) => {
    res.writeHead(502, { "content-type": "text/html" });
    res.end("<html><body>Bad Gateway</body></html>");
  };
  const locked = await startDockerFake([]);
  chmodSync(locked.socket, 0o000);
  const asRoot = process.getuid?.() === 0;
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: nosock, interval: 100ms, docker: { container: web, socket: /nonexistent/docker.sock, timeout: 1s } }
    - { name: html, interval: 100ms, docker: { container: web, socket: "${docker.socket}", timeout: 1s } }
    - { name: discover-nosock, interval: 100ms, docker: { discover: true, socket: /nonexistent/docker.sock, timeout: 1s } }
    - { name: locked, interval: 100ms, docker: { container: web, socket: "${locked.socket}", timeout: 1s } }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    assert.match(
      (await run.waitState("nosock", "down")).reason ?? "",
      /no Docker socket at \/nonexistent\/docker\.sock \(ENOENT\)/,
    );
    assert.match((await run.waitState("html", "down")).reason ?? "", /not a Docker Engine API answer \(HTTP 502/);
    assert.match((await run.waitState("discover-nosock", "down")).reason ?? "", /ENOENT/);
    // root ignores file modes; as another user the socket's 000 mode refuses the connect.
    if (!asRoot) assert.match((await run.waitState("locked", "down")).reason ?? "", /no permission .*EACCES/);
  } finally {
    await run.stop();
    await Promise.all([docker.close(), locked.close()]);
  }
});

test("a domain check reads the registration's expiry from an RDAP server (RFC 9083 JSON) into the status", async () => {
  const expiry = new Date(Date.now() + 10 * DAY).toISOString();
  const rdap = await startRdap({ "home.example": expiry, "dateless.example": null });
  const html = await startRdap();
  html.override = (_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>Registry</title>");
  };
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: home, interval: 100ms, domain: { name: home.example, rdap: "${rdap.url}", timeout: 2s }, conditions: ["domain.expiresIn > 30d"] }
    - { name: lost, interval: 100ms, domain: { name: lost.example, rdap: "${rdap.url}", timeout: 2s } }
    - { name: dateless, interval: 100ms, domain: { name: dateless.example, rdap: "${rdap.url}", timeout: 2s } }
    - { name: html, interval: 100ms, domain: { name: home.example, rdap: "${html.url}", timeout: 2s } }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const home = await run.waitState("home", "degraded");
    assert.equal(home.kind, "domain");
    assert.deepEqual(home.domain, { name: "home.example", expiresAt: expiry, registrar: "Test Registrar, Inc." });
    assert.equal(home.failedConditions[0]?.condition, "domain.expiresIn > 30d");
    const lost = await run.waitState("lost", "down");
    assert.match(lost.reason ?? "", /not found \(HTTP 404\)/);
    const dateless = await run.waitState("dateless", "unknown");
    assert.match(dateless.reason ?? "", /no expiration event for dateless\.example/);
    const notJson = await run.waitState("html", "down");
    assert.match(notJson.reason ?? "", /not JSON \(text\/html/);
    // At most every 12h: the interval of 100ms does not make it ask again.
    const asked = rdap.paths.filter((p) => p.endsWith("/home.example")).length;
    assert.equal(asked, 1, `asked RDAP ${asked} times`);
  } finally {
    await run.stop();
    await Promise.all([rdap.close(), html.close()]);
  }
});

test("without an rdap URL, the RDAP service comes from the bootstrap file (longest listed suffix), fetched once", async () => {
  const rdap = await startRdap({ "home.example": "2027-01-02T03:04:05Z" });
  let fetched = 0;
  const boot = createServer((_req, res) => {
    fetched++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        version: "1.0",
        publication: "2026-12-01T00:00:00Z",
        services: [
          [["org", "net"], ["https://rdap.invalid/"]],
          [["example"], [rdap.url]],
        ],
      }),
    );
  });
  await new Promise<void>((r) => boot.listen(0, "127.0.0.1", r));
  const bootUrl = `http://127.0.0.1:${(boot.address() as { port: number }).port}/dns.json`;
  try {
    const client = new RdapClient({ bootstrapUrl: bootUrl, now: () => Date.now() });
    const r = await client.probe({ name: "Home.Example.", timeout: 2_000 }, []);
    assert.equal(r.domain?.expiresAt, "2027-01-02T03:04:05.000Z");
    const again = await client.probe({ name: "other.example", timeout: 2_000 }, []);
    assert.match(again.error ?? "", /404/);
    const none = await client.probe({ name: "home.zz", timeout: 2_000 }, []);
    assert.match(none.error ?? "", /no RDAP service for home\.zz .*set domain\.rdap/);
    assert.equal(fetched, 1, "the bootstrap file is fetched once and cached");
  } finally {
    await rdap.close();
    await new Promise<void>((r) => boot.close(() => r()));
  }
});
