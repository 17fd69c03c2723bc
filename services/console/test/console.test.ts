// Issue 21 as a new user tries it, through the real `pnpm start`, `pnpm mirror user` and a real
// headless chromium: log in from a notification's link, watch a loop appear live, acknowledge it,
// see `user:<name>` in its history; a viewer cannot act; an HTML-named repo is only text.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Loop } from "@mirror/contracts";
import { type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { type BrowserContext, chromium } from "playwright-core";
import { type ConsoleMesh, HTML_NAME, login, readStreamUntil, startConsoleMesh } from "./harness.js";

const CHROMIUM = "/usr/bin/chromium";
let nats: ServerHandle;
let redis: ServerHandle;
let m: ConsoleMesh;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  m = await startConsoleMesh(nats, redis);
});
after(async () => {
  await m?.stop();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

type Alert = { labels: Record<string, string>; generatorURL: string };
const alertsOf = (json: unknown) => ((json as { alerts?: Alert[] } | undefined)?.alerts ?? []) as Alert[];

async function loopFor(repo: string): Promise<Loop> {
  return waitFor(
    `a loop for ${repo}`,
    async () => {
      const res = await fetch(`http://127.0.0.1:${m.loopsPort}/loops`);
      return ((await res.json()) as { loops: Loop[] }).loops.find(
        (l) => l.entity.repo === repo && l.status !== "closed",
      );
    },
    { timeout: 60_000, interval: 250 },
  );
}

test("first run: the console prints a one-time setup link that creates the first admin", async () => {
  const line = await m.mesh.waitForLine(/^console .*"setupUrl"/, 30_000);
  const link = new URL(/"setupUrl":"([^"]+)"/.exec(line)?.[1] as string);
  assert.equal(link.origin, m.url);
  assert.equal((await fetch(`${m.url}/setup?token=wrong`)).status, 403);
  assert.equal((await fetch(link)).status, 200);
  const token = link.searchParams.get("token") as string;
  const form = (u: string, p: string) => new URLSearchParams({ token, username: u, password: p }).toString();
  const short = await fetch(`${m.url}/setup`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form("root", "short"),
  });
  assert.equal(short.status, 400);
  const made = await fetch(`${m.url}/setup`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form("root", "root-password"),
  });
  assert.equal(made.status, 303);
  const cookie = (made.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const session = (await (await fetch(`${m.url}/api/session`, { headers: { cookie } })).json()) as {
    user: string;
    role: string;
  };
  assert.deepEqual([session.user, session.role], ["root", "admin"]);
  assert.equal((await fetch(link)).status, 410, "used up once a user exists");
});

test("users: the CLI adds, lists, refuses a second add, and never shows a password or hash", async () => {
  const alice = await m.mirror(["user", "add", "alice", "--role", "operator", "--password-stdin"], "alice-pw\n");
  assert.equal(alice.code, 0, alice.stderr);
  const bob = await m.mirror(["user", "add", "bob", "--role", "viewer", "--password-stdin"], "bob-pw\n");
  assert.equal(bob.code, 0, bob.stderr);
  const list = await m.mirror(["user", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^alice {2}operator/m);
  assert.match(list.stdout, /^bob {2}viewer/m);
  assert.doesNotMatch(list.stdout, /scrypt|alice-pw/);
  const again = await m.mirror(["user", "add", "alice", "--role", "admin", "--password-stdin"], "x\n");
  assert.equal(again.code, 1);
  assert.match(again.stderr, /exists/);
  const noStdin = await m.mirror(["user", "add", "carol", "--role", "admin"]);
  assert.equal(noStdin.code, 2);
  assert.ok(!m.mesh.output.some((l) => l.includes("alice-pw")), "the password is in no log line");
});

test("admins manage users in the console too; operators may not", async () => {
  const root = await login(m.url, "root", "root-password");
  const alice = await login(m.url, "alice", "alice-pw");
  const post = (who: { cookie: string; csrf: string }, path: string, body: unknown) =>
    fetch(`${m.url}${path}`, {
      method: "POST",
      headers: { cookie: who.cookie, "x-csrf-token": who.csrf, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  assert.equal(
    (await post(root, "/api/users", { name: "carol", role: "viewer", password: "carol-password" })).status,
    200,
  );
  assert.equal((await post(root, "/api/users", { name: "dave", role: "viewer", password: "short" })).status, 400);
  assert.equal((await post(alice, "/api/users", { name: "eve", role: "admin", password: "eve-password" })).status, 403);
  assert.equal((await fetch(`${m.url}/api/users`, { headers: { cookie: alice.cookie } })).status, 403);
  const users = (await (await fetch(`${m.url}/api/users`, { headers: { cookie: root.cookie } })).json()) as {
    users: { name: string }[];
  };
  assert.deepEqual(users.users.map((u) => u.name).sort(), ["alice", "bob", "carol", "root"]);
  assert.ok(!JSON.stringify(users).includes("scrypt"), "no hash in the answer");
  const carol = await login(m.url, "carol", "carol-password");
  assert.equal((await post(root, "/api/users/carol/remove", {})).status, 200);
  assert.equal(
    (await fetch(`${m.url}/api/session`, { headers: { cookie: carol.cookie } })).status,
    401,
    "a removed user's session ends",
  );
  assert.equal((await post(root, "/api/users/root/remove", {})).status, 400, "not yourself");
});

test("HTTP: 401 for the API and a login redirect for pages without a session; 403 without CSRF; the viewer cannot act", async () => {
  assert.equal((await fetch(`${m.url}/api/loops`)).status, 401);
  const page = await fetch(`${m.url}/loops?status=open`, { redirect: "manual" });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), `/login?next=${encodeURIComponent("/loops?status=open")}`);
  const wrong = await fetch(`${m.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice", password: "nope" }),
  });
  const unknown = await fetch(`${m.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "nobody", password: "nope" }),
  });
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.deepEqual(
    await wrong.json(),
    await unknown.json(),
    "the same answer for an unknown user and a wrong password",
  );

  const alice = await login(m.url, "alice", "alice-pw");
  const res = await fetch(`${m.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice", password: "alice-pw" }),
  });
  const setCookie = res.headers.get("set-cookie") ?? "";
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Lax/);
  assert.doesNotMatch(setCookie, /Secure/, "not Secure on an http publicUrl");
  const session = (await (await fetch(`${m.url}/api/session`, { headers: { cookie: alice.cookie } })).json()) as Record<
    string,
    unknown
  >;
  assert.deepEqual(session, { user: "alice", role: "operator", csrfToken: alice.csrf });

  const loop = await loopFor(m.dirty);
  const noCsrf = await fetch(`${m.url}/api/loops/${loop.id}/snooze`, {
    method: "POST",
    headers: { cookie: alice.cookie, "content-type": "application/json" },
    body: JSON.stringify({ for: "1h" }),
  });
  assert.equal(noCsrf.status, 403);
  const bob = await login(m.url, "bob", "bob-pw");
  const viewer = await fetch(`${m.url}/api/loops/${loop.id}/ack`, {
    method: "POST",
    headers: { cookie: bob.cookie, "x-csrf-token": bob.csrf },
  });
  assert.equal(viewer.status, 403);
  const unknownLoop = await fetch(`${m.url}/api/loops/nope`, { headers: { cookie: alice.cookie } });
  assert.equal(unknownLoop.status, 404);
  const unknownPage = await fetch(`${m.url}/loops/nope`, { headers: { cookie: alice.cookie } });
  assert.equal(unknownPage.status, 404);
  assert.match(await unknownPage.text(), /No loop nope/);
  const nowhere = await fetch(`${m.url}/no/such/page`);
  assert.equal(nowhere.status, 404);
  assert.match(nowhere.headers.get("content-type") ?? "", /text\/html/);
  assert.match(await nowhere.text(), /Nothing at \/no\/such\/page/);
  const malformed = await fetch(`${m.url}/api/loops/${loop.id}/snooze`, {
    method: "POST",
    headers: { cookie: alice.cookie, "x-csrf-token": alice.csrf, "content-type": "application/json" },
    body: "{",
  });
  assert.equal(malformed.status, 400);
  const badSnooze = await fetch(`${m.url}/api/loops/${loop.id}/snooze`, {
    method: "POST",
    headers: { cookie: alice.cookie, "x-csrf-token": alice.csrf, "content-type": "application/json" },
    body: JSON.stringify({ for: "soon" }),
  });
  assert.equal(badSnooze.status, 400);
  const big = await fetch(`${m.url}/api/loops/${loop.id}/snooze`, {
    method: "POST",
    headers: { cookie: alice.cookie, "x-csrf-token": alice.csrf, "content-type": "application/json" },
    body: JSON.stringify({ for: "x".repeat(20_000) }),
  });
  assert.equal(big.status, 413);
  const list = (await (
    await fetch(`${m.url}/api/loops?status=open`, { headers: { cookie: alice.cookie } })
  ).json()) as { loops: Loop[] };
  assert.ok(list.loops.some((l) => l.id === loop.id));

  // Server-Sent Events: the loop feed runs while a page watches. A Last-Event-ID the console cannot
  // vouch for (here from before any page watched) gets a resync; then loop events arrive live, and
  // a reconnect with Last-Event-ID gets what came after it and nothing before.
  assert.equal((await fetch(`${m.url}/api/events`)).status, 401);
  const sse = await fetch(`${m.url}/api/events`, { headers: { cookie: alice.cookie, "last-event-id": "0" } });
  assert.equal(sse.headers.get("content-type"), "text/event-stream; charset=utf-8");
  // The stream is open, so the console's subscription went out on its bus connection before the
  // request that makes the loop-detector publish: the update arrives live (the tag-named repo's
  // loop: the dirty one stays open for the tests below).
  const tagged = await loopFor(m.htmlNamed);
  const acked = fetch(`${m.url}/api/loops/${tagged.id}/ack`, {
    method: "POST",
    headers: { cookie: alice.cookie, "x-csrf-token": alice.csrf },
  });
  const frames = await readStreamUntil(
    sse,
    new RegExp(`id: \\d+\nevent: loop\ndata: \\{[^\n]*"loopId":"${tagged.id}"`),
    20_000,
  );
  assert.equal((await acked).status, 200);
  assert.match(frames, /^id: \d+\nevent: resync\ndata: \{\}$/m, "Last-Event-ID 0: fetch the page again");
  const lastId = Math.max(...[...frames.matchAll(/^id: (\d+)$/gm)].map((x) => Number(x[1])));
  const resumed = await fetch(`${m.url}/api/events`, {
    headers: { cookie: alice.cookie, "last-event-id": String(lastId) },
  });
  const after = await readStreamUntil(resumed, /retry: \d+\n\n/, 5_000);
  assert.doesNotMatch(after, /event: resync/, "the feed ran on within its grace period: a plain resume");
  assert.ok(
    !/^id: (\d+)$/m.test(after) || [...after.matchAll(/^id: (\d+)$/gm)].every((x) => Number(x[1]) > lastId),
    "nothing at or before Last-Event-ID again",
  );

  const logout = await fetch(`${m.url}/logout`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: bob.cookie, "x-csrf-token": bob.csrf },
  });
  assert.equal(logout.status, 303);
  assert.equal(
    (await fetch(`${m.url}/api/session`, { headers: { cookie: bob.cookie } })).status,
    401,
    "the session is gone server-side",
  );
});

/** .ci/run installs chromium: without it the browser tests fail, they do not pass by skipping. */
function needChromium(): void {
  if (!existsSync(CHROMIUM)) assert.fail(`${CHROMIUM} is not installed (apt-get install chromium)`);
}

async function browser(): Promise<BrowserContext> {
  needChromium();
  return chromium.launchPersistentContext(tempDir("mirror-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 390, height: 844 },
  });
}

test("browser: the webhook's link opens the loop after login; a new dirty repo appears live; Acknowledge records user:alice", async () => {
  const loop = await loopFor(m.dirty);
  const sent = await m.hook.waitFor(
    "the webhook for the dirty repo",
    (r) => alertsOf(r.json).some((a) => a.labels.loop_id === loop.id),
    60_000,
  );
  const link = alertsOf(sent.json).find((a) => a.labels.loop_id === loop.id)?.generatorURL as string;
  assert.equal(link, `${m.url}/loops/${loop.id}`);
  const ctx = await browser();
  const dialogs: string[] = [];
  try {
    const page = await ctx.newPage();
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(link);
    assert.equal(new URL(page.url()).pathname, "/login");
    await page.fill("input[name=username]", "alice");
    await page.fill("input[name=password]", "alice-pw");
    await page.click("button[type=submit]");
    await page.waitForURL(`**/loops/${loop.id}`);
    assert.match((await page.textContent("h1")) ?? "", /repo\.dirty/);

    // Live: the list shows a repo dirtied now, with no reload.
    await page.goto(`${m.url}/loops`);
    await page.waitForSelector("#live:has-text('live')", { timeout: 10_000 });
    assert.equal(await page.locator("text=clean-later").count(), 0);
    writeFileSync(join(m.clean, "todo.txt"), "later\n");
    await page.locator("td", { hasText: "clean-later" }).first().waitFor({ timeout: 30_000 });

    const fresh = await loopFor(m.clean);
    await page.click(`a[href="/loops/${fresh.id}"]`);
    await page.waitForURL(`**/loops/${fresh.id}`);
    // Keyboard only: Tab reaches the button, Enter presses it.
    let focused = "";
    for (let i = 0; i < 40 && focused !== "Acknowledge"; i++) {
      await page.keyboard.press("Tab");
      focused = String(await page.evaluate("document.activeElement && document.activeElement.textContent"));
    }
    assert.equal(focused, "Acknowledge", "the button is reachable with Tab");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#loop-status:has-text('acknowledged')");
    assert.match((await page.textContent("#history")) ?? "", /user:alice/);
    assert.ok(
      Number(await page.evaluate("document.documentElement.scrollWidth")) <= 390,
      "the loop page fits a 390 px phone",
    );
    const owner = (await (await fetch(`http://127.0.0.1:${m.loopsPort}/loops/${fresh.id}`)).json()) as { loop: Loop };
    assert.equal(owner.loop.status, "acknowledged");
    assert.equal(owner.loop.history.at(-1)?.by, "user:alice");

    // The repo named like a tag is text everywhere: no <img> on any page, no alert.
    await loopFor(m.htmlNamed);
    await page.goto(`${m.url}/`);
    assert.match((await page.textContent("main")) ?? "", /last scan \d+[smhd] ago; last check \d+[smhd] ago/);
    for (const path of ["/repos", "/", "/loops", "/notifications", "/services", "/ask"]) {
      await page.goto(`${m.url}${path}`);
      if (["/repos", "/", "/loops"].includes(path))
        assert.ok(((await page.textContent("main")) ?? "").includes(HTML_NAME), `${path} shows the name as text`);
      assert.equal(await page.locator("img").count(), 0, `${path} has no img element`);
      assert.ok(
        Number(await page.evaluate("document.documentElement.scrollWidth")) <= 390,
        `${path} fits a 390 px phone`,
      );
    }
    assert.deepEqual(dialogs, []);
  } finally {
    await ctx.close();
  }
});

test("browser: a viewer sees the loop but no buttons, and the console refuses the action", async () => {
  const loop = await loopFor(m.dirty);
  const ctx = await browser();
  try {
    const page = await ctx.newPage();
    await page.goto(`${m.url}/loops/${loop.id}`);
    await page.fill("input[name=username]", "bob");
    await page.fill("input[name=password]", "bob-pw");
    await page.click("button[type=submit]");
    await page.waitForURL(`**/loops/${loop.id}`);
    assert.equal(await page.locator("button", { hasText: /Acknowledge|Snooze|Close|Reopen/ }).count(), 0);
    assert.match((await page.textContent("main")) ?? "", /can read but not act/);
    const status = await page.evaluate(async (id) => {
      const s = (await (await fetch("/api/session")).json()) as { csrfToken: string };
      return (await fetch(`/api/loops/${id}/ack`, { method: "POST", headers: { "x-csrf-token": s.csrfToken } })).status;
    }, loop.id);
    assert.equal(status, 403);
  } finally {
    await ctx.close();
  }
});

test("repos, silences and ask through the API, acting as user:alice; viewers may only read", async () => {
  const alice = await login(m.url, "alice", "alice-pw");
  const bob = await login(m.url, "bob", "bob-pw");
  const as = (who: { cookie: string; csrf: string }, body?: unknown) => ({
    method: body === undefined ? "GET" : "POST",
    headers: {
      cookie: who.cookie,
      "x-csrf-token": who.csrf,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const repos = await waitFor(
    "a finished scan listing every repo",
    async () => {
      const r = (await (await fetch(`${m.url}/api/repos`, as(alice))).json()) as {
        repos: { path: string; signals: unknown[] }[];
        lastScanAt: string | null;
      };
      return r.lastScanAt && r.repos.length >= 3 ? r.repos : undefined;
    },
    { timeout: 30_000 },
  );
  assert.ok(repos.some((r) => r.path.endsWith(HTML_NAME)));
  assert.ok(
    repos.some((r) => r.path === m.dirty && r.signals.length > 0),
    "the dirty repo with its signal",
  );

  const web = await waitFor(
    "the web check with its latency",
    async () => {
      const r = (await (await fetch(`${m.url}/api/services`, as(bob))).json()) as {
        checks: { name: string; state: string; latencyMs?: number | null; checkedAt?: string }[];
      };
      return r.checks.find((c) => c.name === "web" && c.state === "up" && typeof c.latencyMs === "number");
    },
    { timeout: 30_000 },
  );
  assert.ok(web.checkedAt, "when it was last checked");
  const uptime = await waitFor(
    "the web check's uptime from the history service",
    async () => {
      const r = (await (await fetch(`${m.url}/api/services`, as(bob))).json()) as {
        checks: { name: string; uptime: Record<string, number | null> | null }[];
      };
      const u = r.checks.find((c) => c.name === "web")?.uptime;
      return typeof u?.["24h"] === "number" ? u : undefined;
    },
    { timeout: 30_000 },
  );
  assert.ok((uptime["24h"] as number) > 0);

  const made = await fetch(
    `${m.url}/api/silences`,
    as(alice, { matchers: ["alertname=repo.stash"], for: "1h", comment: "testing" }),
  );
  assert.equal(made.status, 200, await made.clone().text());
  const { silence } = (await made.json()) as { silence: { id: string; createdBy: string } };
  assert.equal(silence.createdBy, "user:alice");
  const listed = (await (await fetch(`${m.url}/api/silences`, as(bob))).json()) as { silences: { id: string }[] };
  assert.ok(listed.silences.some((s) => s.id === silence.id));
  assert.equal((await fetch(`${m.url}/api/silences/${silence.id}/expire`, as(bob, {}))).status, 403);
  assert.equal((await fetch(`${m.url}/api/silences/${silence.id}/expire`, as(alice, {}))).status, 200);
  assert.equal(
    (await fetch(`${m.url}/api/silences`, as(alice, { matchers: ["not a matcher"], for: "1h" }))).status,
    400,
  );

  const ask = await fetch(`${m.url}/api/ask`, as(alice, { question: "what is broken?" }));
  assert.equal(ask.status, 200, await ask.clone().text());
  const answer = (await ask.json()) as { answer: string; adapter: string };
  assert.ok(answer.answer.length > 0);
  assert.ok(answer.adapter.length > 0);
  assert.equal((await fetch(`${m.url}/api/ask`, as(bob, { question: "x" }))).status, 403);
});

test("API tokens: made by the CLI, shown once, act as their user on /api/ without CSRF, revocable", async () => {
  const made = await m.mirror(["token", "create", "--user", "alice", "--name", "script"]);
  assert.equal(made.code, 0, made.stderr);
  const token = made.stdout.trim();
  assert.match(token, /^mirror_ct_/);
  const bearer = { authorization: `Bearer ${token}` };
  const session = (await (await fetch(`${m.url}/api/session`, { headers: bearer })).json()) as { user: string };
  assert.equal(session.user, "alice");
  const rescan = await fetch(`${m.url}/api/repos/rescan`, { method: "POST", headers: bearer });
  assert.equal(rescan.status, 200, "no CSRF token needed with a bearer token");
  assert.equal(
    (await fetch(`${m.url}/loops`, { headers: bearer, redirect: "manual" })).status,
    303,
    "pages need a session",
  );
  const list = await m.mirror(["token", "list", "--user", "alice"]);
  assert.match(list.stdout, /^script {2}alice/m);
  assert.doesNotMatch(list.stdout, new RegExp(token));
  assert.equal((await m.mirror(["token", "revoke", "--user", "alice", "--name", "script"])).code, 0);
  assert.equal((await fetch(`${m.url}/api/session`, { headers: bearer })).status, 401);
});

test("SSO: the trusted header from a trusted proxy logs in a known user; an unknown name gets nothing", async () => {
  const res = await fetch(`${m.url}/api/session`, { headers: { "remote-user": "alice" } });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { user: string }).user, "alice");
  assert.match(res.headers.get("set-cookie") ?? "", /mirror_session=/);
  assert.equal((await fetch(`${m.url}/api/session`, { headers: { "remote-user": "mallory" } })).status, 401);
});

test("browser: the Services page shows a check going bad without a reload", async () => {
  const ctx = await browser();
  try {
    const page = await ctx.newPage();
    await page.goto(`${m.url}/services`);
    await page.fill("input[name=username]", "bob");
    await page.fill("input[name=password]", "bob-pw");
    await page.click("button[type=submit]");
    await page.waitForURL("**/services");
    const web = page.locator("tr", { hasText: "web" });
    await web.locator(".state-up").waitFor({ timeout: 30_000 });
    await page.waitForSelector("#live:has-text('live')", { timeout: 10_000 });
    // Only the check's own path fails: webhook deliveries keep their 200.
    m.hook.respond((r) => (r.url.startsWith("/health") ? 503 : 200));
    // A 503 is an answer: the check turns degraded (down is for no answer at all).
    await web.locator(".state-degraded, .state-down").first().waitFor({ timeout: 30_000 });
    assert.match((await web.textContent()) ?? "", /503/);
  } finally {
    m.hook.respond(() => 200);
    await ctx.close();
  }
});

type LoggedChannel = {
  channel: string;
  deliveries: { outcome: string; attempts: number; error: string | null; alerts: { loopId: string }[] }[];
};

test("browser: Notifications shows each channel's deliveries with the error; an operator adds and ends a maintenance window; a viewer sees no buttons", async () => {
  const loop = await loopFor(m.dirty);
  const alice = await login(m.url, "alice", "alice-pw");
  const bob = await login(m.url, "bob", "bob-pw");
  const as = (who: { cookie: string; csrf?: string }, path: string, body?: unknown) =>
    fetch(
      `${m.url}${path}`,
      body === undefined
        ? { headers: { cookie: who.cookie } }
        : {
            method: "POST",
            headers: {
              cookie: who.cookie,
              ...(who.csrf ? { "x-csrf-token": who.csrf } : {}),
              "content-type": "application/json",
            },
            body: JSON.stringify(body),
          },
    );
  const log = await waitFor(
    "the dirty repo's delivery sent to hook and failed to down in /api/notifications",
    async () => {
      const r = (await (await as(bob, "/api/notifications")).json()) as { channels: LoggedChannel[] };
      const of = (name: string) => r.channels.find((c) => c.channel === name)?.deliveries ?? [];
      const about = (d: LoggedChannel["deliveries"][number]) => d.alerts.some((a) => a.loopId === loop.id);
      return of("hook").some((d) => d.outcome === "sent" && about(d)) &&
        of("down").some((d) => d.outcome === "failed" && about(d))
        ? r
        : undefined;
    },
    { timeout: 60_000 },
  );
  const down = log.channels.find((c) => c.channel === "down")?.deliveries ?? [];
  assert.ok(
    down.some((d) => d.outcome === "retried" && d.attempts === 1 && /ECONNREFUSED/.test(d.error ?? "")),
    "the first attempt was retried",
  );
  assert.ok(
    down.some((d) => d.outcome === "failed" && d.attempts === 2 && /ECONNREFUSED/.test(d.error ?? "")),
    "the second was given up",
  );
  assert.ok(!JSON.stringify(log).includes(`${m.closedPort}/hook`), "no channel URL in the log");

  // The API: viewers read only, a missing CSRF token or a bad window is refused, an unknown one is 404.
  assert.equal((await as(bob, "/api/maintenance", { name: "nope", check: ["web"], for: "1h" })).status, 403);
  assert.equal(
    (await as({ cookie: alice.cookie }, "/api/maintenance", { name: "nope", check: ["web"], for: "1h" })).status,
    403,
    "no CSRF token",
  );
  assert.equal((await as(alice, "/api/maintenance", { name: "nope", for: "1h" })).status, 400, "no matcher");
  assert.equal(
    (await as(alice, "/api/maintenance", { name: "nope", check: ["web"], for: "soon" })).status,
    400,
    "no duration",
  );
  assert.equal((await as(alice, "/api/maintenance/never-made/end", {})).status, 404);
  const nightly = await as(alice, "/api/maintenance", { name: "nightly", match: { kind: ["repo.stash"] }, for: "1h" });
  assert.equal(nightly.status, 200, await nightly.clone().text());
  assert.equal(((await nightly.json()) as { window: { createdBy: string } }).window.createdBy, "user:alice");
  assert.equal(
    (await as(alice, "/api/maintenance", { name: "nightly", kind: ["repo.stash"], for: "1h" })).status,
    409,
    "the name is taken",
  );
  assert.equal((await as(bob, "/api/maintenance/nightly/end", {})).status, 403);

  const ctx = await browser();
  try {
    const page = await ctx.newPage();
    await page.goto(`${m.url}/notifications`);
    await page.fill("input[name=username]", "alice");
    await page.fill("input[name=password]", "alice-pw");
    await page.click("button[type=submit]");
    await page.waitForURL("**/notifications");
    assert.ok((await page.locator("#deliveries-hook tr.outcome-sent").count()) >= 1, "the hook's sent delivery");

    // Live: closing the loop sends its resolution; the page shows it without a reload, and the
    // event stream carries each delivery outcome.
    await page.waitForSelector("#live:has-text('live')", { timeout: 10_000 });
    const resolved = page.locator(`#deliveries-hook tr:has-text('resolved'):has(a[href="/loops/${loop.id}"])`);
    assert.equal(await resolved.count(), 0);
    const stream = await fetch(`${m.url}/api/events`, { headers: { cookie: alice.cookie } });
    assert.equal((await as(alice, `/api/loops/${loop.id}/close`, {})).status, 200);
    await readStreamUntil(stream, /event: notify\ndata: \{[^\n]*"channel":"hook","outcome":"sent"/, 30_000);
    await resolved.first().waitFor({ timeout: 30_000 });
    assert.match(
      (await page.locator("#deliveries-down tr.outcome-failed").first().textContent()) ?? "",
      /ECONNREFUSED/,
    );
    assert.match(
      (await page.locator("#deliveries-down tr.outcome-retried").first().textContent()) ?? "",
      /ECONNREFUSED/,
    );
    assert.match((await page.locator("#deliveries-down-title").textContent()) ?? "", /failed [1-9]/);

    await page.fill("#maintenance-form input[name=name]", "backup");
    await page.fill("#maintenance-form input[name=check]", "web");
    await page.fill("#maintenance-form input[name=for]", "2h");
    await page.click("#maintenance-form button[type=submit]");
    await page.waitForSelector("#notice");
    assert.match((await page.locator("#notice").textContent()) ?? "", /backup added/);
    // Post/Redirect/Get: the form's answer is the page's own address, so a reload shows the page
    // again (the notice once) and does not send the form again (it would say the name is taken).
    assert.equal(new URL(page.url()).pathname, "/notifications");
    await page.reload();
    assert.equal(await page.locator("#notice").count(), 0, "the notice is shown once");
    const row = page.locator("#maintenance tr[data-window=backup]");
    assert.equal(await row.count(), 1);
    assert.match((await row.textContent()) ?? "", /check=web/);
    assert.match((await row.locator(".window-active").textContent()) ?? "", /^on until /);
    assert.match((await row.textContent()) ?? "", /user:alice/);
    assert.ok(
      Number(await page.evaluate("document.documentElement.scrollWidth")) <= 390,
      "the page fits a 390 px phone",
    );
    const owner = (await (await as(bob, "/api/maintenance")).json()) as {
      windows: { name: string; active: boolean }[];
    };
    assert.ok(
      owner.windows.some((w) => w.name === "backup" && w.active),
      "the loop-detector has it, on",
    );

    await row.locator("button", { hasText: "End" }).click();
    await page.waitForSelector("#notice:has-text('backup ended')");
    assert.equal(await page.locator("#maintenance tr[data-window=backup]").count(), 0);
    const after = (await (await as(bob, "/api/maintenance")).json()) as { windows: { name: string }[] };
    assert.ok(!after.windows.some((w) => w.name === "backup"));

    // The Repos page's Rescan button: the scanner's answer shown on /repos, and a reload does not scan again.
    await page.goto(`${m.url}/repos`);
    await page.click("button:has-text('Rescan')");
    await page.waitForSelector("#notice:has-text('Scanned')");
    assert.match((await page.locator("#notice").textContent()) ?? "", /^Scanned \d+ repos, \d+ snapshots published\.$/);
    assert.equal(new URL(page.url()).pathname, "/repos");
    await page.reload();
    assert.equal(await page.locator("#notice").count(), 0);
  } finally {
    await ctx.close();
  }

  const viewerCtx = await browser();
  try {
    const page = await viewerCtx.newPage();
    await page.goto(`${m.url}/notifications`);
    await page.fill("input[name=username]", "bob");
    await page.fill("input[name=password]", "bob-pw");
    await page.click("button[type=submit]");
    await page.waitForURL("**/notifications");
    assert.ok((await page.locator("#deliveries-down tr.outcome-failed").count()) >= 1, "a viewer reads the log");
    assert.equal(await page.locator("#maintenance tr[data-window=nightly]").count(), 1, "and the windows");
    assert.equal(await page.locator("main button").count(), 0, "but sees no buttons");
    assert.equal(await page.locator("#maintenance-form").count(), 0);
    assert.match((await page.textContent("main")) ?? "", /can read but not act/);
  } finally {
    await viewerCtx.close();
  }
  assert.equal((await as(alice, "/api/maintenance/nightly/end", {})).status, 200);
});

// Last: it leaves this address rate-limited for the rest of the window.
test("ten wrong passwords in a row get a 429 with Retry-After, also for the right password then", async () => {
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${m.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "username=alice&password=wrong",
    });
    statuses.push(res.status);
    retryAfter ??= res.headers.get("retry-after");
  }
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
  assert.equal(statuses.at(-1), 429);
  assert.ok(Number(retryAfter) > 0, `Retry-After: ${retryAfter}`);
  const right = await fetch(`${m.url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice", password: "alice-pw" }),
  });
  assert.equal(right.status, 429);
});
