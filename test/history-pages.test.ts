// The history pages as a person uses them, in headless chromium against the real console,
// service-tracker and history members (in process, real nats-server and redis-server, a real HTTP
// check): log in, the Overview shows the maintenance trend chart and links to the trend page; the
// Services page links a check to its page with uptime figures, a response-time chart and incidents.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer, type Server } from "node:http";
import { after, before, test } from "node:test";
import { parseConfig, type RunningService, runService } from "@mirror/kit";
import { freePort, type ServerHandle, startNats, startRedis, tempDir, waitFor } from "@mirror/testkit";
import { Redis } from "ioredis";
import type { BrowserContext } from "../services/console/node_modules/playwright-core/index.js";
import { UserStore } from "../services/console/src/users.js";
import { consoleSpec } from "../services/console/src/service.js";
import { historySpec } from "../services/history/src/app.js";
import { trackerSpec } from "../services/service-tracker/src/app.js";

const CHROMIUM = "/usr/bin/chromium";
// playwright-core is the console's dependency (its browser tests): resolved from there.
const { chromium } = createRequire(new URL("../services/console/package.json", import.meta.url))(
  "playwright-core",
) as typeof import("../services/console/node_modules/playwright-core/index.js");
const silent = { write: () => true } as never;

let nats: ServerHandle;
let redis: ServerHandle;
let site: Server;
let url: string;
const services: RunningService[] = [];
let ctx: BrowserContext;

before(async () => {
  // .ci/run installs chromium: without it this test fails, it does not pass by skipping.
  if (!existsSync(CHROMIUM)) assert.fail(`${CHROMIUM} is not installed (apt-get install chromium)`);
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const sitePort = await freePort();
  site = createServer((_req, res) => res.end("ok\n"));
  await new Promise<void>((resolve) => site.listen(sitePort, "127.0.0.1", resolve));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const config = parseConfig(
    `tracker: { port: 0, checks: [ { name: web_site, interval: 1s, http: { url: "http://127.0.0.1:${sitePort}/" } } ] }
history: { port: 0 }
console: { port: ${port} }
`,
    { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url },
  );
  const opts = { config, httpToken: "t", logDest: silent };
  services.push(await runService(historySpec(), { ...opts, port: 0 }));
  services.push(await runService(trackerSpec(), { ...opts, port: 0 }));
  services.push(await runService(consoleSpec(), { ...opts, port }));
  const store = new Redis(redis.url, { keyPrefix: "mirror:console:" });
  await new UserStore(store, () => Date.now()).add("ada", "viewer", "correct horse battery staple");
  store.disconnect();
  ctx = await chromium.launchPersistentContext(tempDir("mirror-chromium-"), {
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
    viewport: { width: 1024, height: 900 },
  });
});

after(async () => {
  await ctx?.close();
  for (const s of services.reverse()) await s.stop();
  await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

test("browser: log in, the Overview's trend chart links to the trend page; Services links the check to its history page", async () => {
  const page = await ctx.newPage();
  await page.goto(`${url}/`);
  await page.fill("input[name=username]", "ada");
  await page.fill("input[name=password]", "correct horse battery staple");
  await page.click("button[type=submit]");
  await page.waitForURL(`${url}/`);
  // The trend read from the history over the bus, drawn inline: an SVG the browser lays out, linking to /trend.
  const chart = page.locator("#trend-chart svg[role=img]");
  await chart.waitFor();
  const box = await chart.boundingBox();
  assert.ok(box && box.width > 300 && box.height > 50, `the trend chart is drawn: ${JSON.stringify(box)}`);
  await page.click("#trend-chart a");
  await page.waitForURL(`${url}/trend`);
  assert.equal(await page.textContent("h1"), "Maintenance trend");
  assert.equal(await page.locator("#trend tbody tr").count(), 90, "one row per day for 90 days");
  assert.equal(await page.locator("#trend-chart svg[role=img]").count(), 1);

  // Wait until the history has timed results of the check, then open it from the Services page.
  await waitFor(
    "results recorded",
    async () => {
      const r = await page.request.get(`${url}/api/checks/web_site/history`);
      return r.status() === 200 && ((await r.json()) as { series: unknown[] }).series.length > 0 ? true : undefined;
    },
    { timeout: 20_000 },
  );
  await page.goto(`${url}/services`);
  await page.click("a:text-is('web_site')");
  await page.waitForURL(`${url}/services/web_site/history`);
  assert.match((await page.textContent("h1")) ?? "", /^web_site up/);
  const uptimes = await page.locator("table").first().locator("td").allTextContents();
  assert.equal(uptimes.length, 5, "uptime for 24h, 7d, 30d, 90d and 365d");
  assert.equal(uptimes[0], "100%");
  const chartBox = await page.locator("svg[aria-label^='Response time over 24h']").boundingBox();
  assert.ok(chartBox && chartBox.width > 300 && chartBox.height > 50, "the response-time chart is drawn");
  // Results of the last minute or two: few points, each drawn as a dot so a single one still shows.
  assert.ok(
    await page.locator("svg[aria-label^='Response time over 24h'] circle").first().isVisible(),
    "its mean is visible",
  );
  assert.equal(await page.textContent("h2:has-text('Incidents')"), "Incidents (24h)");
  assert.ok(await page.locator("text=No incidents in this window.").isVisible());
});
