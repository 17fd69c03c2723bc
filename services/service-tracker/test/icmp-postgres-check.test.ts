import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { parseConfig } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis } from "@mirror/testkit";
import { compileAll } from "../src/app.js";
import { parsePing, probeIcmp } from "../src/probes/icmp.js";
import { runTracker } from "./harness.js";
import { postgresBin, startPostgres, type TestPostgres } from "./peers/postgres.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

/** Whether the system ping can send here (installed, and allowed ICMP sockets). */
function pingWorks(): string | null {
  const r = spawnSync("ping", ["-n", "-c", "1", "-w", "2", "127.0.0.1"], { encoding: "utf8" });
  if (r.error) return `no system ping (${(r.error as NodeJS.ErrnoException).code}); install iputils-ping`;
  if (r.status !== 0) return `ping is not permitted here: ${(r.stderr || r.stdout).trim().split("\n")[0]}`;
  return null;
}

test("parsePing reads iputils and busybox summaries", () => {
  assert.deepEqual(
    parsePing(
      "--- h ping statistics ---\n3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms\nrtt min/avg/max/mdev = 0.041/0.143/0.245/0.102 ms\n",
    ),
    { sent: 3, received: 2, rtt: 0.143 },
  );
  assert.deepEqual(
    parsePing(
      "--- h ping statistics ---\n3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min/avg/max = 0.1/0.2/0.3 ms\n",
    ),
    { sent: 3, received: 3, rtt: 0.2 },
  );
  assert.deepEqual(parsePing("2 packets transmitted, 0 received, 100% packet loss, time 1001ms\n"), {
    sent: 2,
    received: 0,
    rtt: null,
  });
  assert.equal(parsePing("<html>not ping</html>"), null);
});

test("an icmp check pings through the system ping: loss and rtt in the status; an unknown host is down", async () => {
  // .ci/run installs iputils-ping: a machine without a working ping fails here, it does not pass by skipping.
  const why = pingWorks();
  if (why) assert.fail(`the icmp check needs the system ping: ${why}`);
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: loopback, interval: 200ms, icmp: { host: 127.0.0.1, count: 2, timeout: 3s }, conditions: ["loss == 0", "rtt < 500ms"] }
    - { name: nowhere, interval: 200ms, icmp: { host: no-such-host.invalid, count: 1, timeout: 2s } }`,
    { nats: nats.url, redis: redis.url },
  );
  try {
    const up = await run.waitState("loopback", "up");
    assert.equal(up.kind, "icmp");
    assert.equal(up.details.loss, 0);
    assert.equal(up.details.received, 2);
    assert.ok(typeof up.details.rtt === "number");
    const down = await run.waitState("nowhere", "down");
    assert.match(down.reason ?? "", /ping failed: .*no-such-host\.invalid/);
  } finally {
    await run.stop();
  }
});

test("an icmp check on a machine without ping says what to install", async () => {
  const r = await probeIcmp(
    { host: "127.0.0.1", count: 1, timeout: 1_000 },
    [],
    () => Date.now(),
    "mirror-no-such-ping",
  );
  assert.equal(r.reachable, false);
  assert.match(r.error ?? "", /not installed \(Debian: apt-get install iputils-ping\)/);
});

let pg: TestPostgres | undefined;
const pgBin = postgresBin();

test("postgres checks connect, authenticate (scram-sha-256) and SELECT 1 on a private cluster; a refused password is down; the password is never published or logged", async () => {
  // .ci/run installs postgresql: without it this fails, it does not pass by skipping.
  if (!pgBin) assert.fail("no initdb on PATH or under /usr/lib/postgresql (apt-get install postgresql)");
  pg = await startPostgres(pgBin);
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: db, interval: 100ms, postgres: { url: "postgres://${pg.user}:\${PG_PASSWORD}@127.0.0.1:${pg.port}/postgres", timeout: 3s }, conditions: ["latency < 3s"] }
    - { name: db-field, interval: 100ms, postgres: { url: "postgres://${pg.user}@127.0.0.1:${pg.port}/postgres", password: "\${PG_PASSWORD}", timeout: 3s } }
    - { name: db-wrong, interval: 100ms, postgres: { url: "postgres://${pg.user}:wrong@127.0.0.1:${pg.port}/postgres", timeout: 3s } }
    - { name: db-missing, interval: 100ms, postgres: { url: "postgres://${pg.user}:\${PG_PASSWORD}@127.0.0.1:${pg.port}/nosuchdb", timeout: 3s } }
    - { name: db-redis, interval: 100ms, postgres: { url: "postgres://x:y@${redis.url.replace("redis://", "")}/db", timeout: 2s } }`,
    { nats: nats.url, redis: redis.url },
    { env: { PG_PASSWORD: pg.password } },
  );
  try {
    const up = await run.waitState("db", "up");
    assert.equal(up.kind, "postgres");
    assert.equal(up.details.target, `127.0.0.1:${pg.port}`);
    await run.waitState("db-field", "up");
    const wrong = await run.waitState("db-wrong", "down");
    assert.match(wrong.reason ?? "", /postgres refused the password \(28P01/);
    const missing = await run.waitState("db-missing", "down");
    assert.match(missing.reason ?? "", /the database does not exist \(3D000/);
    const notPg = await run.waitState("db-redis", "down");
    assert.ok(notPg.reason, "a redis-server is not postgres: down with a reason");
    const everything = JSON.stringify(run.statuses) + run.logs.join("");
    assert.ok(!everything.includes(pg.password), "the password is in no status and no log line");
    // The server going away is down too.
    pg.stop();
    assert.match((await run.waitState("db", "down", 15_000)).reason ?? "", /refused|terminat|closed|shut/i);
  } finally {
    await run.stop();
    pg?.stop();
  }
});

test("bad check config names the key path: a dns server that is a name, a docker check with neither container nor discover, a condition of another kind", () => {
  const problems = (yaml: string): string => {
    try {
      const cfg = parseConfig(yaml, {});
      compileAll(cfg.tracker, "mirror.yaml");
      return "";
    } catch (err) {
      return String((err as { problems?: string[] }).problems?.join("\n") ?? (err as Error).message);
    }
  };
  assert.match(
    problems(`tracker: { checks: [ { name: d, dns: { name: x.test, server: "dns.example:53" } } ] }`),
    /tracker\.checks\.0\.dns\.server.*IP address/,
  );
  assert.match(
    problems(`tracker: { checks: [ { name: c, docker: { socket: /x.sock } } ] }`),
    /tracker\.checks\.0\.docker.*exactly one of `container` or `discover: true`/,
  );
  assert.match(
    problems(`tracker: { checks: [ { name: r, redis: { url: "http://x" } } ] }`),
    /tracker\.checks\.0\.redis\.url.*redis:\/\//,
  );
  assert.match(
    problems(`tracker: { checks: [ { name: i, icmp: { host: "-f" } } ] }`),
    /tracker\.checks\.0\.icmp\.host/,
  );
  assert.match(
    problems(`tracker: { checks: [ { name: w, http: { url: "http://x" }, conditions: ["rcode == NOERROR"] } ] }`),
    /tracker\.checks\.0\.conditions: .*"rcode == NOERROR" does not apply to a http check/,
  );
  assert.match(
    problems(`tracker: { checks: [ { name: two, tcp: { host: h, port: 1 }, dns: { name: x.test } } ] }`),
    /needs exactly one of http, tcp, heartbeat, dns, tls, redis, postgres, docker, icmp, domain/,
  );
  assert.match(
    problems(`tracker: { checks: [ { name: dm, domain: { name: "not a domain" } } ] }`),
    /tracker\.checks\.0\.domain\.name/,
  );
  assert.equal(
    problems(
      `tracker: { checks: [ { name: ok, dns: { name: x.test, server: "127.0.0.1:5353", type: MX }, conditions: ["answers.count > 0"] } ] }`,
    ),
    "",
  );
});
