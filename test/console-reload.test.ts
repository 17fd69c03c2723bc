// The console follows mirror.yaml while it runs: a status page added to console.statusPages is
// served (and its checks' badges) without a restart, over real HTTP, with the history member
// answering over a real NATS; a broken save keeps the pages in force, logged by key path and
// counted; the fixed file, saved the way editors do (a temp file renamed over it), is applied.
import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { raw as rawBus } from "@mirror/bus/testing";
import { parseConfig, type RunningService, runService } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { historySpec } from "../services/history/src/app.js";
import { consoleSpec } from "../services/console/src/service.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

const page = (slug: string, title: string, checks: string[]) =>
  `    - { slug: ${slug}, title: "${title}", checks: [${checks.join(", ")}] }\n`;
const yaml = (pages: string, port = 0, extra = "") =>
  `tracker:\n  checks:\n    - { name: web, http: { url: "http://127.0.0.1:1/" } }\n    - { name: db, http: { url: "http://127.0.0.1:1/" } }\nhistory: { port: 0 }\nconsole:\n  port: ${port}\n  publicUrl: "http://127.0.0.1:9100"\n${extra}  statusPages:\n${pages}`;

test("console: a status page and login limits changed in mirror.yaml apply without a restart; a broken save keeps the old pages; a fix saved by rename is applied", async () => {
  const dir = tempDir("mirror-console-reload-");
  const file = join(dir, "mirror.yaml");
  const first = yaml(page("home", "Home", ["web"]));
  writeFileSync(file, first);
  const env = { MIRROR_CONFIG: file, MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const lines: Record<string, unknown>[] = [];
  const logDest = { write: (l: string) => void lines.push(JSON.parse(l)) };
  const run = (spec: Parameters<typeof runService>[0]) =>
    runService(spec, {
      config: parseConfig(first, env, file),
      env,
      port: 0,
      logDest: logDest as never,
      httpToken: "t0ken-for-tests",
    });
  const history: RunningService = await run(historySpec());
  await rawBus(history.ctx.bus).nc.flush();
  const svc: RunningService = await run(consoleSpec());
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${svc.port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  const reloads = async (result: string) =>
    Number(
      new RegExp(`mirror_config_reload_total\\{result="${result}"\\} (\\d+)`).exec((await get("/metrics")).body)?.[1] ??
        0,
    );
  const consoleLines = (msg: string) => lines.filter((l) => l.service === "console" && l.msg === msg);
  try {
    assert.equal((await get("/status/home.json")).status, 200);
    assert.equal((await get("/status/ops.json")).status, 404);
    assert.equal((await get("/badge/db/status.svg")).status, 404, "db is on no page yet");
    const login = (username: string) =>
      fetch(`http://127.0.0.1:${svc.port}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: "wrong" }),
      });
    assert.deepEqual(
      [(await login("mallory")).status, (await login("mallory")).status],
      [401, 401],
      "five failures allowed by default",
    );

    writeFileSync(
      file,
      yaml(
        page("home", "Home", ["web"]) + page("ops", "Operations", ["web", "db"]),
        19998,
        "  loginAttempts: 1\n  loginWindow: 1h\n",
      ),
    );
    const ops = await waitFor(
      "the new page served",
      async () => {
        const r = await get("/status/ops.json");
        return r.status === 200 ? (JSON.parse(r.body) as { title: string; checks: { name: string }[] }) : undefined;
      },
      { timeout: 10_000 },
    );
    assert.equal(ops.title, "Operations");
    assert.deepEqual(
      ops.checks.map((c) => c.name),
      ["web", "db"],
    );
    assert.match((await get("/status/ops")).body, /Operations/);
    assert.equal((await get("/badge/db/status.svg")).status, 200, "a check on the new page gets its badge");
    const applied = consoleLines("config reloaded")[0];
    assert.deepEqual(
      [applied?.changed, applied?.statusPages, applied?.needsRestart],
      [["loginAttempts", "loginWindow", "port", "statusPages"], ["home", "ops"], ["console.port"]],
    );
    // The login limit too: one failure per name now, then 429 for the new hour-long window.
    assert.equal((await login("eve")).status, 401);
    const limited = await login("eve");
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 3_000, "the window is the new hour");

    // Half-written: the last page's mapping is cut off.
    writeFileSync(file, yaml(page("home", "Home", ["web"]) + page("new", "New", ["db"])).slice(0, -12));
    await waitFor("rejected", async () => (await reloads("error")) >= 1, { timeout: 10_000 });
    // Whole, but two pages share a slug and one lists no checks: each problem by key path.
    writeFileSync(file, yaml(page("home", "Home", ["web"]) + page("home", "Again", ["db"]) + page("bare", "Bare", [])));
    await waitFor("rejected again", async () => (await reloads("error")) >= 2, { timeout: 10_000 });
    const problems = consoleLines("config reload rejected; still running on the previous config").map((l) =>
      JSON.stringify(l.problems),
    );
    assert.match(problems[0] ?? "", /not valid YAML/);
    assert.match(problems[1] ?? "", /console\.statusPages\.2\.checks/);
    assert.match(problems[1] ?? "", /console\.statusPages: two status pages have the same slug/);
    assert.equal((await get("/status/ops.json")).status, 200, "the pages in force are still served");

    // The fix, saved by writing a temp file and renaming it over mirror.yaml: ops gone, status added.
    const temp = join(dir, ".mirror.yaml.tmp");
    writeFileSync(temp, yaml(page("home", "Home", ["web"]) + page("status", "Status", ["db"])));
    renameSync(temp, file);
    await waitFor("the fixed file applied", async () => (await get("/status/status.json")).status === 200, {
      timeout: 10_000,
    });
    assert.equal((await get("/status/ops.json")).status, 404, "a page taken out is gone");
    assert.equal((await get("/status/home.json")).status, 200);
  } finally {
    await svc.stop();
    await history.stop();
  }
});
