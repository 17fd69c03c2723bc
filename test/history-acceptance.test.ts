// Issue 22's acceptance as a new user tries it, through the real `pnpm start` (against the test's
// nats-server and redis-server, which outlive the mesh's restart): an HTTP check every second against a local server that answers, is stopped for
// about 10 seconds (as the issue asks) and answers again; a public status page lists it. The page's JSON shows a 24h uptime between 0 and 100 % and one
// incident of about the stopped time; after the mesh is stopped and started the same incident is
// there; the HTML page, the badges and the login-protected API answer as documented.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import {
  freePort,
  type Mesh,
  type ServerHandle,
  startMesh,
  startNats,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";

type StatusJson = {
  title: string;
  checks: {
    name: string;
    status: string;
    uptime: Record<string, number | null>;
    days: { date: string; uptime: number | null }[];
    incidents: { start: string; end: string | null; durationMs: number }[];
  }[];
};

let nats: ServerHandle;
let redis: ServerHandle;
let site: Server | undefined;
let sitePort: number;
const DOWN_MS = 10_000;
const CHROMIUM = "/usr/bin/chromium";

const listen = () =>
  new Promise<void>((resolve) => {
    site = createServer((_req, res) => res.end("ok\n"));
    site.listen(sitePort, "127.0.0.1", resolve);
  });
const close = () =>
  new Promise<void>((resolve) => {
    if (!site) return resolve();
    site.closeAllConnections();
    site.close(() => resolve());
  });

before(async () => {
  [nats, redis, sitePort] = await Promise.all([startNats(), startRedis(), freePort()]);
  await listen();
});
after(async () => {
  await close();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

test("a check stopped for about 10 s: status page JSON and HTML, badges, the same incident after a restart of the mesh", async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const yaml = `tracker: { port: 0, checks: [ { name: site, interval: 1s, http: { url: "http://127.0.0.1:${sitePort}/" } } ] }
history: { port: 0 }
console: { port: ${port}, statusPages: [ { slug: home, title: Home, checks: [ site ] } ] }
`;
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" };
  const names = ["service-tracker", "history", "console"];
  const started = async (m: Mesh) => {
    for (const name of names) await m.waitForLine(new RegExp(`^${name}\\s.*"msg":"service started"`), 120_000);
  };
  const status = async () => {
    const r = await fetch(`${url}/status/home.json`);
    return r.status === 200 ? ((await r.json()) as StatusJson).checks[0] : undefined;
  };
  let mesh = startMesh(yaml, { env, names });
  try {
    await started(mesh);
    await waitFor("three up results", async () => ((await status())?.uptime["24h"] === 1 ? true : undefined), {
      timeout: 30_000,
    });
    await close();
    const stoppedAt = Date.now();
    await waitFor("the check down", async () => ((await status())?.status === "down" ? true : undefined), {
      timeout: 15_000,
    });
    await waitFor("the site stopped long enough", () => (Date.now() - stoppedAt >= DOWN_MS ? true : undefined), {
      timeout: DOWN_MS + 1_000,
      interval: 100,
    });
    await listen();
    const check = await waitFor(
      "the incident closed",
      async () => {
        const c = await status();
        return c?.status === "up" && c.incidents.length === 1 && c.incidents[0]?.end ? c : undefined;
      },
      { timeout: 20_000 },
    );
    const u = check.uptime["24h"] as number;
    assert.ok(u > 0 && u < 1, `24h uptime ${u}`);
    const incident = check.incidents[0] as StatusJson["checks"][number]["incidents"][number];
    assert.equal(check.incidents.length, 1, "one incident");
    assert.ok(
      Math.abs(incident.durationMs - DOWN_MS) <= 2_500,
      `an incident of about ${DOWN_MS} ms: ${incident.durationMs}`,
    );
    assert.equal(check.days.at(-1)?.uptime !== null, true, "today has a bar");

    const page = await fetch(`${url}/status/home`);
    assert.equal(page.status, 200);
    const body = await page.text();
    assert.match(body, /<span class="bar b-[\w-]+" role="listitem" tabindex="0" title="\d{4}-\d\d-\d\d \(today\): \d/);
    if (existsSync(CHROMIUM)) {
      // What a browser shows: the DOM after chromium loaded the page (its CSS from the console, no script needed).
      const { stdout: dom } = await promisify(execFile)(
        CHROMIUM,
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          `--user-data-dir=${tempDir("mirror-chromium-")}`,
          "--dump-dom",
          `${url}/status/home`,
        ],
        { timeout: 30_000 },
      );
      assert.match(dom, /<h1>Home<\/h1>/);
      assert.match(dom, /title="\d{4}-\d\d-\d\d \(today\): \d+(\.\d+)?%"/, "a bar for today with its percentage");
    }
    const badge = await fetch(`${url}/badge/site/uptime.svg`);
    assert.match(badge.headers.get("content-type") ?? "", /^image\/svg\+xml/);
    assert.match(await badge.text(), /^<svg .*\d+(\.\d+)?%/s);
    const shields = (await (await fetch(`${url}/badge/site/shields.json?kind=uptime&window=30d`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(shields.schemaVersion, 1);
    assert.ok(
      typeof shields.label === "string" && typeof shields.message === "string" && typeof shields.color === "string",
    );
    assert.equal((await fetch(`${url}/api/checks/site/history`)).status, 401);

    assert.ok((await mesh.stop()) !== -9, "the mesh stops on Ctrl-C");
    mesh = startMesh(yaml, { env, names });
    await started(mesh);
    const again = await waitFor("the status page after the restart", status, { timeout: 20_000 });
    assert.deepEqual(again.incidents, check.incidents, "the same incident after the restart");
    const after = again.uptime["24h"] as number;
    // Up results keep coming after the restart, so the 24h uptime may only have grown; none was lost.
    assert.ok(after > 0 && after < 1 && after >= u, `24h uptime ${after} after the restart, ${u} before`);
    const past = new Map(check.days.slice(0, -1).map((d) => [d.date, d.uptime]));
    assert.deepEqual(
      again.days.filter((d) => past.has(d.date)).map((d) => d.uptime),
      [...past.values()].slice(-again.days.filter((d) => past.has(d.date)).length),
      "the past days unchanged",
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${mesh.output.slice(-30).join("\n")}`);
  } finally {
    await mesh.stop();
  }
});
