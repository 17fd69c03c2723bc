// Maintenance in the history, end to end over a real nats-server and redis-server: the real
// loop-detector holds a runtime window (`mirror maintenance add` over the bus), the history reads
// it through mirror.loops.maintenance.list, and a check down inside it lowers no uptime and makes
// no incident on its status page, which shows it (and today) as maintenance. Injected clock.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { raw as rawBus } from "@mirror/bus/testing";
import { maintenanceAdd, maintenanceEnd, type ServiceStatus, serviceStatus } from "@mirror/contracts";
import { buildHttp, createLogger, ManualClock, parseConfig, type RunningService, runService } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { LiveHub } from "../services/console/src/live.js";
import { LoginLimit } from "../services/console/src/login-limit.js";
import { MeshClient } from "../services/console/src/mesh.js";
import { historyRoutes } from "../services/console/src/routes-history.js";
import { SessionStore } from "../services/console/src/sessions.js";
import { SetupLink } from "../services/console/src/setup.js";
import type { ConsoleState } from "../services/console/src/state.js";
import { TokenStore } from "../services/console/src/tokens.js";
import { UserStore } from "../services/console/src/users.js";
import { type HistoryHandles, historySpec } from "../services/history/src/app.js";
import { loopDetectorSpec } from "../services/loop-detector/src/app.js";

const silent = { write: () => true } as never;
const log = createLogger("t", silent, "silent");
const clock = new ManualClock(Date.parse("2026-07-01T12:00:00Z"));
const S = 1_000;

let nats: ServerHandle;
let redis: ServerHandle;
let detector: RunningService;
let history: RunningService;
let handles: HistoryHandles;
let tracker: Bus;
let operator: Bus;
let store: Redis;
let app: ReturnType<typeof buildHttp>;
let seq = 0;

async function observe(state: ServiceStatus["state"], sinceMs: number): Promise<void> {
  const at = new Date(clock.now()).toISOString();
  const s: ServiceStatus = {
    name: "web",
    kind: "http",
    state,
    observedAt: at,
    seq: ++seq,
    since: new Date(sinceMs).toISOString(),
    latencyMs: state === "up" ? 25 : null,
    reason: state === "up" ? null : "connect ECONNREFUSED",
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
  };
  await tracker.publish(serviceStatus, "web", s, { id: `status:web:${seq}` });
  clock.advance(S);
}

/** Waits until the history has recorded every result published so far (the status page then shows them). */
async function recorded(n: number): Promise<void> {
  await waitFor(
    `${n} results recorded`,
    async () =>
      (await handles.queries.check("web", "24h")).series.reduce((a, p) => a + p.n, 0) >= n ? true : undefined,
    { timeout: 15_000 },
  );
}

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const config = parseConfig(
    `history: { port: 0 }
loops: { port: 0, triage: false }
console:
  statusPages: [ { slug: home, title: Home, checks: [ web ] } ]
`,
    env,
  );
  detector = await runService(loopDetectorSpec(), { config, port: 0, clock, httpToken: "t", logDest: silent });
  history = await runService(
    historySpec((h) => (handles = h)),
    { config, port: 0, clock, httpToken: "t", logDest: silent },
  );
  await rawBus(history.ctx.bus).nc.flush();
  const bus = (name: string) => Bus.connect({ name, url: nats.url, log, registry: new Registry() });
  [tracker, operator] = await Promise.all([bus("service-tracker"), bus("console")]);
  store = new Redis(redis.url, { keyPrefix: "mirror:console:" });
  const now = () => clock.now();
  const users = new UserStore(store, now);
  const sessions = new SessionStore(store, 86_400_000, now);
  const tokens = new TokenStore(store, now);
  // `settings` (the console section in force) only where ConsoleState has it: the cast accepts both.
  const state = {
    settings: config.console,
    users,
    sessions,
    tokens,
    setup: new SetupLink(store),
    auth: { users, sessions, tokens, cookie: { secure: false, ttlMs: 86_400_000 } },
    limit: new LoginLimit(store, 5, 900_000),
    mesh: new MeshClient(operator, now),
    hub: new LiveHub(),
    now,
    log,
    streams: new Set(),
    adapter: "rules",
  } as ConsoleState;
  app = buildHttp({ log, registry: new Registry(), ready: () => ({}), auth: { token: "the-service-token" } });
  historyRoutes(app, config, () => state);
  await app.ready();
});

after(async () => {
  await app?.close();
  store?.disconnect();
  await Promise.all([tracker?.close(), operator?.close()]);
  await history?.stop();
  await detector?.stop();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

interface Day {
  date: string;
  uptime: number | null;
  maintenance: boolean;
}
const statusJson = async () =>
  (await app.inject({ url: "/status/home.json" })).json() as {
    checks: { status: string; uptime: { "24h": number | null }; days: Day[]; incidents: unknown[] }[];
  };

test("a check down inside a window added with maintenance.add: status maintenance, today marked, uptime unchanged, no incident; after the window a real outage counts", async () => {
  const t0 = clock.now();
  for (let i = 0; i < 5; i++) await observe("up", t0);
  await recorded(5);

  const added = await operator.request(maintenanceAdd, {
    name: "backup",
    match: { check: ["web"] },
    for: "1h",
    by: "alice",
  });
  assert.equal(added.window.active, true);
  await handles.maintenance.poll();
  assert.equal(
    handles.maintenance.covering("web", clock.now()),
    "backup",
    "the history sees the loop-detector's window",
  );
  const downAt = clock.now();
  for (let i = 0; i < 10; i++) await observe("down", downAt);
  await waitFor(
    "the down results recorded",
    async () => ((await handles.queries.summary("web", 1)).maintenance ? true : undefined),
    { timeout: 15_000 },
  );
  clock.advance(6 * S); // past the status page's 5 s cache
  let web = (await statusJson()).checks[0];
  assert.equal(web?.status, "maintenance");
  assert.equal(web?.uptime["24h"], 1, "down results inside the window are not downtime");
  assert.deepEqual(web?.days.at(-1), { date: "2026-07-01", uptime: 1, maintenance: true });
  assert.deepEqual(web?.incidents, []);
  const page = await app.inject({ url: "/status/home" });
  assert.match(page.body, /<span class="state s-maintenance">maintenance<\/span>/);
  assert.match(
    page.body,
    /<span class="bar b-maint m" role="listitem" tabindex="0" title="2026-07-01 \(today\): 100% \(maintenance\)"/,
  );
  assert.match((await app.inject({ url: "/badge/web/shields.json" })).body, /"message":"maintenance","color":"blue"/);

  // The window is ended early while the check is still down: from then on it is an outage.
  await operator.request(maintenanceEnd, { name: "backup", by: "alice" });
  await handles.maintenance.poll();
  assert.equal(handles.maintenance.covering("web", clock.now()), undefined);
  const outageAt = clock.now();
  for (let i = 0; i < 3; i++) await observe("down", downAt);
  const upAt = clock.now();
  await observe("up", upAt);
  await waitFor(
    "the recovery recorded",
    async () => ((await handles.queries.summary("web", 1)).state === "up" ? true : undefined),
    { timeout: 15_000 },
  );
  clock.advance(6 * S);
  web = (await statusJson()).checks[0];
  assert.equal(web?.status, "up");
  assert.equal(web?.uptime["24h"], 6 / 9, "5 + 1 up, 3 down outside the window");
  assert.deepEqual(web?.incidents, [
    { start: new Date(outageAt).toISOString(), end: new Date(upAt).toISOString(), durationMs: 3 * S },
  ]);
  const h = (await handles.queries.check("web", "24h")).incidents;
  // Down from downAt until the window ended (10 results, then the 6 s waited for the cache): 16 s, marked.
  assert.deepEqual(
    h.map((i) => [i.start, i.durationMs, i.maintenance]),
    [
      [new Date(outageAt).toISOString(), 3 * S, false],
      [new Date(downAt).toISOString(), 16 * S, true],
    ],
    "the check's own history keeps the maintenance period, marked",
  );
});
