// The history as a mesh member, in process against real nats-server and redis-server: it consumes
// statuses and loop events through its durable consumers, answers mirror.history.* over the bus,
// exports the uptime ratio, and after a restart answers the same figures.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { raw as rawBus } from "@mirror/bus/testing";
import {
  historyCheck,
  historyStatus,
  historyTrend,
  loopOpened,
  type ServiceStatus,
  serviceStatus,
} from "@mirror/contracts";
import { createLogger, ManualClock, parseConfig, type RunningService, runService } from "@mirror/kit";
import { REPO_ROOT, startNats, startRedis, type ServerHandle, tempDir, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { historySpec } from "../src/app.js";
import { loopOf } from "./fixtures.js";

let nats: ServerHandle;
let redis: ServerHandle;
let tracker: Bus;
let detector: Bus;
let caller: Bus;
const silent = { write: () => true } as never;
const log = createLogger("t", silent, "silent");
const clock = new ManualClock(Date.parse("2026-06-01T12:00:00Z"));
const T0 = clock.now() - 60_000;

async function startHistory(): Promise<RunningService> {
  const config = parseConfig(
    "tracker: { checks: [ { name: web, http: { url: 'http://127.0.0.1:1/' } } ] }\nhistory: { port: 0 }",
    { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url },
  );
  const svc = await runService(historySpec(), { config, port: 0, clock, logDest: silent });
  await rawBus(svc.ctx.bus).nc.flush();
  return svc;
}

function status(seq: number, state: ServiceStatus["state"], sinceSeq: number): ServiceStatus {
  const at = (s: number) => new Date(T0 + s * 1_000).toISOString();
  return {
    name: "web",
    kind: "http",
    state,
    observedAt: at(seq),
    seq,
    since: at(sinceSeq),
    latencyMs: state === "up" ? 12 : null,
    reason: state === "up" ? null : "connect ECONNREFUSED 127.0.0.1:8080",
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
  };
}

let svc: RunningService | undefined;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const bus = (name: string) => Bus.connect({ name, url: nats.url, log, registry: new Registry() });
  [tracker, detector, caller] = await Promise.all([bus("service-tracker"), bus("loop-detector"), bus("operator")]);
  svc = await startHistory();
});
after(async () => {
  await Promise.all([tracker?.close(), detector?.close(), caller?.close()]);
  await svc?.stop();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

const figures = async () => {
  const r = await caller.request(historyCheck, { name: "web", window: "24h" }, { timeout: 5_000 });
  return {
    uptime: r.uptime["24h"],
    incidents: r.incidents.map((i) => [i.start, i.end, i.durationMs, i.firstError, i.loopId]),
  };
};

test("statuses and a loop become uptime, an incident with its loop, a trend, metrics; a restart answers the same", async () => {
  // 5 up, 5 down (from second 5), 2 up (from second 10); the loop opens at second 6.
  const states: ServiceStatus[] = [];
  for (let s = 0; s < 12; s++) states.push(status(s, s < 5 || s >= 10 ? "up" : "down", s < 5 ? 0 : s < 10 ? 5 : 10));
  for (const s of states.slice(0, 7)) await tracker.publish(serviceStatus, "web", s, { id: `status:web:${s.seq}` });
  const loop = loopOf("L-web", "service.down", "open", 1, {
    openedAt: states[6]?.observedAt as string,
    at: states[6]?.observedAt as string,
    service: "web",
    severity: "high",
  });
  await detector.publish(loopOpened, loop.id, { loop, reason: "rule" }, { id: "loop:L-web:1" });
  await waitFor(
    "the loop recorded",
    async () => ((await caller.request(historyTrend, { days: 1 })).days[0]?.openTotal === 1 ? true : undefined),
    { timeout: 15_000 },
  );
  for (const s of states.slice(7)) await tracker.publish(serviceStatus, "web", s, { id: `status:web:${s.seq}` });
  const expected = {
    uptime: 7 / 12,
    incidents: [
      [
        new Date(T0 + 5_000).toISOString(),
        new Date(T0 + 10_000).toISOString(),
        5_000,
        "connect ECONNREFUSED 127.0.0.1:8080",
        "L-web",
      ],
    ],
  };
  const seen = await waitFor(
    "every status recorded",
    async () => {
      const f = await figures();
      return f.uptime === expected.uptime ? f : undefined;
    },
    { timeout: 15_000 },
  );
  assert.deepEqual(seen, expected);

  const { checks } = await caller.request(historyStatus, { checks: ["web", "nope"], days: 3 });
  assert.equal(checks[0]?.state, "up");
  assert.equal(checks[0]?.incidentCount, 1);
  assert.deepEqual(
    checks[0]?.days.map((d) => d.uptime),
    [null, null, 7 / 12],
  );
  assert.equal(checks[0]?.responseMs, 12);
  assert.equal(checks[1]?.known, false);

  const metrics = await (await fetch(`http://127.0.0.1:${svc?.port}/metrics`)).text();
  assert.match(metrics, /mirror_check_uptime_ratio\{check="web",window="24h"\} 0\.583/);
  assert.match(metrics, /mirror_check_incidents\{check="web"\} 1/);
  assert.match(metrics, /mirror_history_results_total\{outcome="recorded"\} 12/);

  // A window outside the list is refused naming the allowed ones.
  const bad = await rawBus(caller).nc.request(historyCheck.subject, JSON.stringify({ name: "web", window: "2d" }), {
    timeout: 5_000,
  });
  assert.equal(bad.headers?.get("Nats-Service-Error-Code"), "400");
  assert.match(bad.headers?.get("Nats-Service-Error") ?? "", /24h.*7d.*30d.*90d.*365d/);

  await svc?.stop();
  svc = await startHistory();
  assert.deepEqual(await figures(), expected, "the same figures after a restart");
  assert.equal((await caller.request(historyTrend, { days: 1 })).days[0]?.openTotal, 1);
});

test("`pnpm mirror trend` prints the trend over the bus as the operator", async () => {
  const dir = tempDir("mirror-trend-");
  writeFileSync(join(dir, "mirror.yaml"), "{}\n");
  const env = {
    ...process.env,
    MIRROR_CONFIG: join(dir, "mirror.yaml"),
    MIRROR_DATA_DIR: dir,
    MIRROR_NATS_URL: nats.url,
  };
  const out = await promisify(execFile)("pnpm", ["mirror", "trend", "--days", "2"], { cwd: REPO_ROOT, env });
  const lines = out.stdout.trim().split("\n");
  assert.match(lines[0] ?? "", /^DATE\s+OPEN\s+OPENED\s+CLOSED/);
  assert.match(lines[2] ?? "", /^2026-06-01\s+1\s+1\s+0\s/);
  assert.match(out.stdout, /open now by kind: service\.down 1 high/);
  const json = await promisify(execFile)("pnpm", ["mirror", "trend", "--days", "1", "--json", "--kind", "repo.dirty"], {
    cwd: REPO_ROOT,
    env,
  });
  assert.equal(JSON.parse(json.stdout).days[0].openTotal, 0);
  await assert.rejects(
    promisify(execFile)("pnpm", ["mirror", "trend", "--days", "91"], { cwd: REPO_ROOT, env }),
    /--days must be a whole number from 1 to 90/,
  );
});
