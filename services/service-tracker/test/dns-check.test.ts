import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { runTracker } from "./harness.js";
import { startDns, type TestDns } from "./peers/dns-server.js";

let nats: ServerHandle;
let redis: ServerHandle;
let dns: TestDns;
before(async () => {
  [nats, redis, dns] = await Promise.all([
    startNats(),
    startRedis(),
    startDns({
      "app.home.test": { A: ["10.0.0.7"] },
      "mail.home.test": { MX: [{ priority: 10, exchange: "mx1.home.test" }], TXT: ["v=spf1 -all"] },
      "big.home.test": { A: ["10.0.0.1", "10.0.0.2"] },
    }),
  ]);
  dns.quirks["big.home.test"] = "truncate";
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose(), dns.close()]);
});

test("dns checks ask a real DNS server on 127.0.0.1 (UDP, and TCP after a truncated answer); conditions see answers, rcode and latency", async () => {
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: app, interval: 100ms, dns: { name: app.home.test, server: "${dns.server}", timeout: 1s }, conditions: ["answers contains 10.0.0.7", "rcode == NOERROR", "latency < 1s"] }
    - { name: mx, interval: 100ms, dns: { name: mail.home.test, type: MX, server: "${dns.server}", timeout: 1s }, conditions: ["answers == 10 mx1.home.test"] }
    - { name: spf, interval: 100ms, dns: { name: mail.home.test, type: TXT, server: "${dns.server}", timeout: 1s }, conditions: ["answers contains v=spf1"] }
    - { name: big, interval: 100ms, dns: { name: big.home.test, server: "${dns.server}", timeout: 1s }, conditions: ["answers.count == 2"] }
    - { name: gone, interval: 100ms, dns: { name: nope.home.test, server: "${dns.server}", timeout: 1s } }
    - { name: moved, interval: 100ms, dns: { name: app.home.test, server: "${dns.server}", timeout: 1s }, conditions: ["answers contains 10.0.0.9"] }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const app = await run.waitState("app", "up");
    assert.equal(app.kind, "dns");
    assert.deepEqual(app.details.answers, ["10.0.0.7"]);
    assert.equal(app.details.rcode, "NOERROR");
    assert.equal(app.details.target, dns.server);
    await run.waitState("mx", "up");
    await run.waitState("spf", "up");
    await run.waitState("big", "up");
    assert.ok(
      dns.queries.includes("tcp big.home.test A"),
      `the truncated answer was asked again over TCP: ${dns.queries.filter((q) => q.includes("big")).join(", ")}`,
    );
    // NXDOMAIN is an answer: the server is reachable, the default conditions fail.
    const gone = await run.waitState("gone", "degraded");
    assert.equal(gone.details.rcode, "NXDOMAIN");
    assert.ok(gone.failedConditions.some((f) => f.condition === "rcode == NOERROR" && f.actual === "NXDOMAIN"));
    const moved = await run.waitState("moved", "degraded");
    assert.deepEqual(moved.failedConditions, [{ condition: "answers contains 10.0.0.9", actual: "10.0.0.7" }]);
  } finally {
    await run.stop();
  }
});

test("a DNS server that answers garbage, SERVFAIL or nothing, or is not there: down or degraded with the reason, and the scheduler keeps going", async () => {
  dns.quirks["junk.home.test"] = "garbage";
  dns.quirks["mute.home.test"] = "silent";
  dns.quirks["broken.home.test"] = "servfail";
  const closed = await startDns();
  const closedServer = closed.server;
  await closed.close();
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: junk, interval: 100ms, dns: { name: junk.home.test, server: "${dns.server}", timeout: 300ms } }
    - { name: mute, interval: 100ms, dns: { name: mute.home.test, server: "${dns.server}", timeout: 300ms } }
    - { name: broken, interval: 100ms, dns: { name: broken.home.test, server: "${dns.server}", timeout: 300ms } }
    - { name: nobody, interval: 100ms, dns: { name: app.home.test, server: "${closedServer}", timeout: 300ms } }
    - { name: app, interval: 100ms, dns: { name: app.home.test, server: "${dns.server}", timeout: 1s } }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const mute = await run.waitState("mute", "down");
    assert.match(mute.reason ?? "", /no answer|timed out/);
    const junk = await run.waitState("junk", "down");
    assert.match(junk.reason ?? "", /DNS|answer|timed out|malformed/i);
    const broken = await run.waitState("broken", "degraded");
    assert.equal(broken.details.rcode, "SERVFAIL");
    const nobody = await run.waitState("nobody", "down");
    assert.match(nobody.reason ?? "", new RegExp(closedServer.replace(/\./g, "\\.")));
    // The healthy check beside them keeps being probed.
    await run.waitState("app", "up");
    const asked = () => dns.queries.filter((q) => q === "udp app.home.test A").length;
    const seen = asked();
    await waitFor("app probed again", () => asked() > seen + 2, { timeout: 5_000 });
  } finally {
    await run.stop();
  }
});
