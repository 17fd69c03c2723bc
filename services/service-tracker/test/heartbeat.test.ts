import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ManualClock } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { Empty } from "@nats-io/nats-core";
import { compileHeartbeat, evaluate } from "../src/heartbeat/expect.js";
import { runTracker } from "./harness.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

const post = (url: string, token?: string, method = "POST") =>
  fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as Record<string, unknown>,
  }));

test("a heartbeat is up after a ping, missed past every + grace, and up again on the next ping (injected clock)", async () => {
  const clock = new ManualClock(Date.parse("2026-03-01T00:00:00Z"));
  const run = await runTracker(
    `tracker:
  mesh: { enabled: false }
  checks:
    - { name: nightly-backup, heartbeat: { every: 2s, grace: 1s } }
    - { name: web, http: { url: "http://127.0.0.1:1/" } }`,
    { nats: nats.url, redis: redis.url },
    { clock },
  );
  try {
    const waiting = await run.waitState("nightly-backup", "unknown");
    assert.equal(waiting.kind, "heartbeat");
    assert.equal(waiting.heartbeat?.expectedBy, "2026-03-01T00:00:02.000Z");

    const ok = await post(run.pingUrl("nightly-backup"));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.outcome, "recorded");
    const up = await run.waitState("nightly-backup", "up");
    assert.equal(up.heartbeat?.lastPingAt, "2026-03-01T00:00:00.000Z");

    clock.advance(2_900);
    run.tracker.scheduler.pump();
    assert.equal(run.tracker.book.get("nightly-backup")?.state, "up");

    clock.advance(200);
    run.tracker.scheduler.pump();
    const missed = await run.waitState("nightly-backup", "down");
    assert.equal(missed.heartbeat?.missed, true);
    assert.match(
      missed.reason ?? "",
      /no check-in since 2026-03-01T00:00:00.000Z: expected by 2026-03-01T00:00:02.000Z/,
    );

    await post(run.pingUrl("nightly-backup"));
    await run.waitState("nightly-backup", "up");

    // A job that starts and never finishes is missed after the grace; a reported failure is down at once.
    clock.advance(10);
    await post(`${run.pingUrl("nightly-backup")}/start`);
    clock.advance(1_100);
    run.tracker.scheduler.pump();
    const stuck = await run.waitState("nightly-backup", "down");
    assert.match(stuck.reason ?? "", /did not finish within 1s/);
    await post(run.pingUrl("nightly-backup"));
    await run.waitState("nightly-backup", "up");
    clock.advance(10);
    await post(`${run.pingUrl("nightly-backup")}/fail`);
    const failed = await run.waitState("nightly-backup", "down");
    assert.equal(failed.heartbeat?.failed, true);
    assert.equal(failed.heartbeat?.missed, false);

    const unknown = await post(`${run.url}/ping/nope`, run.token);
    assert.equal(unknown.status, 404);
    assert.match(
      String((unknown.body.error as { message: string }).message),
      /no heartbeat check named "nope" and no check has this ping key; heartbeat checks: nightly-backup/,
    );
    const notHb = await post(`${run.url}/ping/web`, run.token);
    assert.equal(notHb.status, 404);
    assert.match(String((notHb.body.error as { message: string }).message), /"web" is a http check/);
    assert.equal((await post(`${run.pingUrl("nightly-backup")}/bogus`)).status, 404);
  } finally {
    await run.stop();
  }
});

test("plain bus check-ins (no headers, empty body) count, and the last ping survives a restart", async () => {
  const clock = new ManualClock(Date.now());
  const yaml = `tracker:
  mesh: { enabled: false }
  checks:
    - { name: bus-job, heartbeat: { every: 1h, grace: 5m } }`;
  const run = await runTracker(yaml, { nats: nats.url, redis: redis.url }, { clock });
  try {
    run.nc.publish("mirror.heartbeat.bus-job", Empty);
    const up = await run.waitState("bus-job", "up");
    assert.ok(up.heartbeat?.lastPingAt);
    clock.advance(1_000);
    run.nc.publish("mirror.heartbeat.bus-job.fail", "disk full");
    const down = await run.waitState("bus-job", "down");
    assert.equal(down.heartbeat?.failed, true);
  } finally {
    await run.stop();
  }
  const again = await runTracker(yaml, { nats: nats.url, redis: redis.url }, { clock });
  try {
    const st = await waitFor("restored status", () => again.latest("bus-job"));
    assert.equal(st.state, "down");
    assert.equal(st.heartbeat?.failed, true);
    assert.ok(st.heartbeat?.lastPingAt);
  } finally {
    await again.stop();
  }
});

test("cron heartbeats expect the next run in their timezone", () => {
  const spec = compileHeartbeat("nightly", { cron: "0 3 * * *", tz: "Europe/Berlin", grace: 60_000 });
  assert.equal(
    new Date(spec.nextExpected(Date.parse("2026-01-10T12:00:00Z"))).toISOString(),
    "2026-01-11T02:00:00.000Z",
  );
  assert.equal(
    new Date(spec.nextExpected(Date.parse("2026-07-10T12:00:00Z"))).toISOString(),
    "2026-07-11T01:00:00.000Z",
  );
  const since = Date.parse("2026-01-10T12:00:00Z");
  const rec = { lastPingAt: null, lastStartAt: null, lastFailAt: null, watchingSince: since };
  assert.equal(evaluate(spec, rec, Date.parse("2026-01-11T02:00:59Z")).state, "unknown");
  assert.equal(evaluate(spec, rec, Date.parse("2026-01-11T02:01:01Z")).state, "down");
  const pinged = { ...rec, lastPingAt: Date.parse("2026-01-11T02:00:30Z") };
  assert.equal(evaluate(spec, pinged, Date.parse("2026-01-11T02:01:01Z")).state, "up");
  assert.throws(
    () => compileHeartbeat("bad", { cron: "61 * * * *", grace: 0 }),
    /cron "61 \* \* \* \*" does not parse/,
  );
  assert.throws(() => compileHeartbeat("bad", { cron: "0 3 * * *", tz: "Mars/Olympus", grace: 0 }), /does not parse/);
});
