// The console's history routes against a real history service (real nats-server and redis-server):
// the login-protected API, public status pages (HTML and JSON) that show only what they list,
// and badges only for checks on some status page. HTTP through app.inject(), no port.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { raw as rawBus } from "@mirror/bus/testing";
import { loopOpened, type ServiceStatus, serviceStatus } from "@mirror/contracts";
import { buildHttp, createLogger, ManualClock, parseConfig, type RunningService, runService } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { SESSION_COOKIE } from "../services/console/src/auth.js";
import { LiveHub } from "../services/console/src/live.js";
import { LoginLimit } from "../services/console/src/login-limit.js";
import { MeshClient } from "../services/console/src/mesh.js";
import { overviewPage } from "../services/console/src/pages/overview.js";
import { repoRows } from "../services/console/src/pages/repos.js";
import { servicesPage } from "../services/console/src/pages/services.js";
import { historyRoutes } from "../services/console/src/routes-history.js";
import { SessionStore } from "../services/console/src/sessions.js";
import { SetupLink } from "../services/console/src/setup.js";
import type { ConsoleState } from "../services/console/src/state.js";
import { TokenStore } from "../services/console/src/tokens.js";
import { UserStore } from "../services/console/src/users.js";
import { historySpec } from "../services/history/src/app.js";

const silent = { write: () => true } as never;
const log = createLogger("t", silent, "silent");
const clock = new ManualClock(Date.parse("2026-06-01T12:00:00Z"));
const T0 = clock.now() - 60_000;
const HTML_NAME = `<img src=x onerror="alert(1)">`;

let nats: ServerHandle;
let redis: ServerHandle;
let history: RunningService;
let tracker: Bus;
let consoleBus: Bus;
let store: Redis;
let app: ReturnType<typeof buildHttp>;
let token: string;
let cookie: string;

function status(name: string, seq: number, state: ServiceStatus["state"], sinceSeq: number): ServiceStatus {
  const at = (s: number) => new Date(T0 + s * 1_000).toISOString();
  return {
    name,
    kind: "http",
    state,
    observedAt: at(seq),
    seq,
    since: at(sinceSeq),
    latencyMs: state === "up" ? 40 : null,
    reason: state === "up" ? null : "connect ECONNREFUSED 10.0.0.7:8443 secret-host.lan",
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
  };
}

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const yaml = `history: { port: 0 }
console:
  statusPages:
    - { slug: home, title: "Home & <lab>", checks: [ web, "${HTML_NAME.replace(/"/g, '\\"')}", never-seen ] }
    - { slug: quiet, title: Quiet, checks: [ web ], showIncidents: false }
`;
  const config = parseConfig(yaml, env);
  history = await runService(historySpec(), { config, port: 0, clock, logDest: silent });
  await rawBus(history.ctx.bus).nc.flush();
  const bus = (name: string) => Bus.connect({ name, url: nats.url, log, registry: new Registry() });
  [tracker, consoleBus] = await Promise.all([bus("service-tracker"), bus("console")]);
  // web: 6 up, 4 down (an incident of 4 s), 2 up; the HTML-named check and a hidden one: up.
  for (let s = 0; s < 12; s++) {
    const st = status("web", s, s >= 6 && s < 10 ? "down" : "up", s < 6 ? 0 : s < 10 ? 6 : 10);
    await tracker.publish(serviceStatus, "web", st, { id: `status:web:${s}` });
  }
  for (const name of [HTML_NAME, "hidden"])
    await tracker.publish(serviceStatus, "x", status(name, 1, "up", 0), { id: `status:${name}:1` });
  store = new Redis(redis.url, { keyPrefix: "mirror:console:" });
  const now = () => clock.now();
  const users = new UserStore(store, now);
  const sessions = new SessionStore(store, 86_400_000, now);
  const tokens = new TokenStore(store, now);
  await users.add("ada", "viewer", "correct horse battery staple");
  token = (await tokens.create("ada", "test")).token;
  cookie = `${SESSION_COOKIE}=${(await sessions.create("ada")).id}`;
  // `settings` (the console section in force) only where ConsoleState has it: the cast accepts both.
  const state = {
    settings: config.console,
    users,
    sessions,
    tokens,
    setup: new SetupLink(store),
    auth: { users, sessions, tokens, cookie: { secure: false, ttlMs: 86_400_000 } },
    limit: new LoginLimit(store, 5, 900_000),
    mesh: new MeshClient(consoleBus, now),
    hub: new LiveHub(),
    now,
    log,
    streams: new Set(),
    adapter: "rules",
  } as ConsoleState;
  // The kit's HTTP app, as the console runs in: its token check lets through only routes marked public.
  app = buildHttp({ log, registry: new Registry(), ready: () => ({}), auth: { token: "the-service-token" } });
  historyRoutes(app, config, () => state);
  await app.ready();
  await waitFor(
    "the history recorded every status",
    async () => {
      const r = await app.inject({ url: "/status/home.json" });
      const body = r.json() as { checks: { name: string; uptime: { "24h": number | null } }[] };
      return r.statusCode === 200 && body.checks[0]?.uptime["24h"] === 8 / 12 && body.checks[1]?.uptime["24h"] === 1
        ? true
        : undefined;
    },
    { timeout: 15_000 },
  );
});

after(async () => {
  await app?.close();
  store?.disconnect();
  await Promise.all([tracker?.close(), consoleBus?.close()]);
  await history?.stop();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

const auth = () => ({ authorization: `Bearer ${token}` });

test("/api/checks/<name>/history: 401 without a login; with one, uptime, series and incidents; bad window 400; unknown 404", async () => {
  assert.equal((await app.inject({ url: "/api/checks/web/history" })).statusCode, 401);
  assert.equal((await app.inject({ url: "/api/trend" })).statusCode, 401);
  const r = await app.inject({ url: "/api/checks/web/history?window=7d", headers: auth() });
  assert.equal(r.statusCode, 200);
  const h = r.json();
  assert.equal(h.name, "web");
  assert.deepEqual(Object.keys(h.uptime), ["24h", "7d", "30d", "90d", "365d"]);
  assert.equal(h.uptime["7d"], 8 / 12);
  assert.ok(h.series.length >= 1 && h.series.every((p: { avg: number }) => p.avg === 40));
  assert.equal(h.incidents.length, 1);
  assert.equal(h.incidents[0].durationMs, 4_000);
  const bad = await app.inject({ url: "/api/checks/web/history?window=2d", headers: auth() });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error.message, /24h, 7d, 30d, 90d, 365d/);
  assert.equal((await app.inject({ url: "/api/checks/nope/history", headers: auth() })).statusCode, 404);
  const trend = await app.inject({ url: "/api/trend?days=90", headers: auth() });
  assert.equal(trend.statusCode, 200);
  assert.equal(trend.json().days.length, 90);
  assert.equal((await app.inject({ url: "/api/trend?days=91", headers: auth() })).statusCode, 400);
});

test("/status/<slug>.json: only the listed checks, uptime, 90 days, incident times; no errors, hosts or other checks", async () => {
  const r = await app.inject({ url: "/status/home.json" });
  assert.equal(r.statusCode, 200);
  assert.match(r.headers["cache-control"] as string, /max-age/);
  const body = r.json();
  assert.equal(body.title, "Home & <lab>");
  assert.deepEqual(
    body.checks.map((c: { name: string }) => c.name),
    ["web", HTML_NAME, "never-seen"],
  );
  const web = body.checks[0];
  assert.equal(web.status, "up");
  assert.ok(web.uptime["24h"] > 0 && web.uptime["24h"] < 1);
  assert.deepEqual(Object.keys(web.uptime), ["24h", "7d", "30d", "90d"]);
  assert.equal(web.days.length, 90);
  assert.deepEqual(web.days.at(-1), { date: "2026-06-01", uptime: 8 / 12, maintenance: false });
  assert.deepEqual(web.incidents, [
    { start: new Date(T0 + 6_000).toISOString(), end: new Date(T0 + 10_000).toISOString(), durationMs: 4_000 },
  ]);
  assert.equal(body.checks[2].status, "unknown");
  assert.doesNotMatch(r.body, /ECONNREFUSED|10\.0\.0\.7|secret-host|hidden/);
  const quiet = (await app.inject({ url: "/status/quiet.json" })).json();
  assert.deepEqual(quiet.checks[0].incidents, [], "showIncidents: false lists none");
  assert.equal((await app.inject({ url: "/status/nope.json" })).statusCode, 404);
  assert.equal((await app.inject({ url: "/status/nope" })).statusCode, 404);
});

test("/status/<slug>: HTML with a bar per day (today last, its percentage on hover and focus), every name escaped", async () => {
  const r = await app.inject({ url: "/status/home" });
  assert.equal(r.statusCode, 200);
  assert.match(r.headers["content-type"] as string, /^text\/html/);
  const bars = [...r.body.matchAll(/<span class="bar b-([\w-]+)" role="listitem" tabindex="0" title="([^"]+)"/g)];
  assert.equal(bars.length, 3 * 90);
  assert.deepEqual([bars[89]?.[1], bars[89]?.[2]], ["0", "2026-06-01 (today): 66.7%"]);
  assert.ok(
    !r.body.includes(HTML_NAME) && r.body.includes("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"),
    "the HTML-named check is text",
  );
  assert.ok(r.body.includes("<title>Home &amp; &lt;lab&gt;</title>"));
  assert.doesNotMatch(r.body, /ECONNREFUSED|secret-host|10\.0\.0\.7|[>"]hidden[ <"]/);
  assert.equal((await app.inject({ url: "/status.css" })).statusCode, 200);
});

test("badges: SVG and Shields endpoint JSON for checks on a status page; any other check 404 like an unknown one", async () => {
  const up = await app.inject({ url: "/badge/web/uptime.svg?window=24h" });
  assert.equal(up.statusCode, 200);
  assert.match(up.headers["content-type"] as string, /^image\/svg\+xml/);
  assert.match(up.headers["cache-control"] as string, /max-age=\d+/);
  assert.match(up.body, /^<svg [^>]*>.*uptime 24h: 66\.7%/);
  assert.match((await app.inject({ url: "/badge/web/status.svg" })).body, /web: up/);
  assert.match((await app.inject({ url: "/badge/web/response.svg" })).body, /40 ms/);
  const shields = await app.inject({ url: "/badge/web/shields.json?kind=uptime&window=30d" });
  assert.deepEqual(shields.json(), { schemaVersion: 1, label: "uptime 30d", message: "66.7%", color: "red" });
  assert.deepEqual((await app.inject({ url: "/badge/web/shields.json" })).json(), {
    schemaVersion: 1,
    label: "web",
    message: "up",
    color: "brightgreen",
  });
  assert.equal((await app.inject({ url: "/badge/web/shields.json?kind=nope" })).statusCode, 400);
  assert.equal((await app.inject({ url: "/badge/web/uptime.svg?window=2d" })).statusCode, 400);
  const hidden = await app.inject({ url: "/badge/hidden/status.svg" });
  const unknown = await app.inject({ url: "/badge/no-such-check/status.svg" });
  assert.equal(hidden.statusCode, 404);
  assert.deepEqual([hidden.statusCode, hidden.body], [unknown.statusCode, unknown.body]);
  const named = await app.inject({ url: `/badge/${encodeURIComponent(HTML_NAME)}/status.svg` });
  assert.equal(named.statusCode, 200);
  assert.ok(!named.body.includes("<img") && named.body.includes("&lt;img"), "the name is escaped in the SVG");
});

test("pages behind the login: a check's uptime, response-time chart (SVG) and incidents; the trend chart", async () => {
  const anon = await app.inject({ url: "/services/web/history" });
  assert.equal(anon.statusCode, 303, "a login redirect without a session");
  const r = await app.inject({ url: "/services/web/history?window=24h", headers: { cookie } });
  assert.equal(r.statusCode, 200);
  assert.match(r.body, /<td>66\.7%<\/td>/);
  assert.match(r.body, /<svg viewBox="0 0 720 200"[^>]*aria-label="Response time over 24h/);
  assert.match(r.body, /<polyline points="[\d., ]+"/);
  assert.match(r.body, /4 s<\/td><td class="state-down status">down<\/td><td class="wide">connect ECONNREFUSED/);
  assert.equal((await app.inject({ url: "/services/nope/history", headers: { cookie } })).statusCode, 404);
  const t = await app.inject({ url: "/trend?days=30", headers: { cookie } });
  assert.equal(t.statusCode, 200);
  assert.match(t.body, /<h1>Maintenance trend<\/h1>/);
  assert.equal([...t.body.matchAll(/<tr><td>2026-\d\d-\d\d<\/td>/g)].length, 30);
});

test("a repository's signals over the bus: the API and the page behind the login", async () => {
  const repo = "/home/ada/code/<site>";
  const now = clock.now();
  const loop = {
    id: "r1",
    kind: "repo.dirty",
    entity: { type: "repo" as const, repo },
    severity: "low" as const,
    status: "open" as const,
    summary: "dirty",
    openedAt: new Date(now - 2 * 3_600_000).toISOString(),
    updatedAt: new Date(now - 2 * 3_600_000).toISOString(),
    closedAt: null,
    snoozedUntil: null,
    suppressedBy: [],
    rev: 1,
    evidence: {},
    triage: null,
    history: [],
  };
  const detector = await Bus.connect({ name: "loop-detector", url: nats.url, log, registry: new Registry() });
  try {
    await detector.publish(loopOpened, "r1", { loop, reason: "rule" }, { id: "loop:r1:1" });
    const r = await waitFor(
      "the repo signal",
      async () => {
        const res = await app.inject({ url: `/api/repos/history?repo=${encodeURIComponent(repo)}`, headers: auth() });
        const body =
          res.statusCode === 200
            ? (res.json() as { signals: { kind: string; open: boolean; trueMs: number }[] })
            : undefined;
        return body?.signals.length === 1 ? body : undefined;
      },
      { timeout: 15_000 },
    );
    const [signal] = r.signals;
    assert.deepEqual([signal?.kind, signal?.open, signal?.trueMs], ["repo.dirty", true, 2 * 3_600_000]);
    assert.equal((await app.inject({ url: "/api/repos/history", headers: auth() })).statusCode, 400);
    const byPath = await app.inject({ url: `/api/repos/${encodeURIComponent(repo)}/history?days=90`, headers: auth() });
    assert.equal(byPath.statusCode, 200);
    assert.deepEqual(
      byPath.json().signals.map((s: { kind: string; trueMs: number }) => [s.kind, s.trueMs]),
      [["repo.dirty", 2 * 3_600_000]],
    );
    assert.equal((await app.inject({ url: `/api/repos/${encodeURIComponent(repo)}/history` })).statusCode, 401);
    assert.equal((await app.inject({ url: `/api/repos/history?repo=x` })).statusCode, 401);
    const page = await app.inject({ url: `/repos/history?repo=${encodeURIComponent(repo)}`, headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes("<h1>/home/ada/code/&lt;site&gt;</h1>"));
    assert.match(page.body, /<td>repo\.dirty<\/td><td><strong>true<\/strong>.*<td>2 h<\/td>/s);
    // The timeline: one period, from 2 hours ago to now, at the right end of the 90 days.
    assert.match(
      page.body,
      /<svg viewBox="0 0 300 12"[^>]*aria-label="repo\.dirty: true 0\.1% of the last 90 days"><rect width="300" height="12" fill="#e9ecef"\/><rect class="period" x="299\.\d" width="1"/,
    );
  } finally {
    await detector.close();
  }
});

test("the Overview shows the trend chart linking to /trend (also alone as /trend.svg behind the login); Services and Repos link to each history page", async () => {
  const anon = await app.inject({ url: "/trend.svg" });
  assert.equal(anon.statusCode, 303, "a login redirect without a session");
  const svg = await app.inject({ url: "/trend.svg?days=90", headers: { cookie } });
  assert.equal(svg.statusCode, 200);
  assert.match(svg.headers["content-type"] as string, /^image\/svg\+xml/);
  assert.match(
    svg.body,
    /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 720 \d+"[^>]*aria-label="Open loops per day stacked by kind, with loops opened and closed per day, last 90 days"/,
  );
  assert.match(svg.body, />opened<\/text>.*>closed<\/text>/s, "the legend is drawn inside the document");
  assert.equal((await app.inject({ url: "/trend.svg?days=0", headers: { cookie } })).statusCode, 400);
  // The repo loop opened by the test before: today's open loops by severity, and per kind in the chart.
  const today = await app.inject({ url: "/trend?days=1", headers: { cookie } });
  assert.match(today.body, /<td title="repo\.dirty: low 1">1<\/td><td class="wide">low 1<\/td>/);
  assert.match(today.body, /<title>2026-06-01 repo\.dirty: 1 open \(low 1\)<\/title>/);
  const fetched = <T>(data: T) => ({ data, at: clock.now() }) as never;
  const trend = (await app.inject({ url: "/api/trend?days=90", headers: auth() })).json();
  const overview = overviewPage(
    fetched([]),
    fetched([]),
    fetched({ repos: [], roots: 0, lastScanAt: null }),
    "rules",
    clock.now(),
    trend,
  ).text;
  assert.match(
    overview,
    /<figure class="chart" id="trend-chart"><a href="\/trend"[^>]*><svg viewBox="0 0 720 200" width="100%" role="img" aria-label="Open loops per day stacked by kind/,
  );
  const without = overviewPage(
    fetched([]),
    fetched([]),
    fetched({ repos: [], roots: 0, lastScanAt: null }),
    "rules",
    clock.now(),
  ).text;
  assert.match(without, /The history does not answer: no trend now\. <a href="\/trend">/);
  const check = { name: "a b&c", kind: "http", state: "up", since: new Date(T0).toISOString() };
  const services = servicesPage(fetched([check]), fetched([]), clock.now()).text;
  assert.ok(services.includes(`<a href="/services/a%20b%26c/history"`), "the check's name links to its history page");
  const repos = repoRows([{ path: "/home/ada/code/<site>", signals: [] }], clock.now()).text;
  assert.ok(
    repos.includes(`<a href="/repos/history?repo=%2Fhome%2Fada%2Fcode%2F%3Csite%3E"`),
    "the repo links to its signal history",
  );
});
