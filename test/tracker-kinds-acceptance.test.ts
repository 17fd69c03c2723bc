// Issue 23's acceptance for the tracker, as a new user would try it through the real `pnpm start`:
// a redis check is up; a domain check against an RDAP server whose expiry is 10 days away opens
// domain.expiring; a check added to mirror.yaml while the mesh runs is tracked with no service
// restarted (same process id); a broken mirror.yaml is logged and everything keeps running.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { after, before, test } from "node:test";
import type { Loop } from "@mirror/contracts";
import {
  freePort,
  type Mesh,
  type ServerHandle,
  servicePid,
  startMesh,
  startNats,
  startRedis,
  waitFor,
} from "@mirror/testkit";

let nats: ServerHandle;
let redis: ServerHandle;
let guarded: ServerHandle;
let rdap: Server;
let rdapUrl = "";
const DAY = 86_400_000;
const expiry = new Date(Date.now() + 10 * DAY).toISOString();

before(async () => {
  [nats, redis, guarded] = await Promise.all([
    startNats(),
    startRedis(),
    startRedis({ args: ["--requirepass", "acc-pass"] }),
  ]);
  rdap = createServer((req, res) => {
    const known = req.url === "/rdap/domain/home.example";
    res.writeHead(known ? 200 : 404, { "content-type": "application/rdap+json" });
    res.end(
      JSON.stringify(
        known
          ? {
              objectClassName: "domain",
              ldhName: "home.example",
              events: [{ eventAction: "expiration", eventDate: expiry }],
            }
          : { errorCode: 404 },
      ),
    );
  });
  await new Promise<void>((r) => rdap.listen(0, "127.0.0.1", r));
  rdapUrl = `http://127.0.0.1:${(rdap.address() as { port: number }).port}/rdap/`;
});
after(async () => {
  await Promise.all([
    nats.dispose(),
    redis.dispose(),
    guarded.dispose(),
    new Promise<void>((r) => rdap.close(() => r())),
  ]);
});

test("pnpm start: redis and domain checks, domain.expiring opened, a check added live, a broken save survived", async () => {
  const [trackerPort, loopsPort, closedPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const yaml = `tracker:
  port: ${trackerPort}
  mesh: { enabled: false }
  checks:
    - { name: cache, interval: 500ms, redis: { url: "redis://:\${ACC_REDIS_PASSWORD}@${guarded.url.replace("redis://", "")}" } }
    - { name: site, domain: { name: home.example, rdap: "${rdapUrl}" } }
loops: { port: ${loopsPort}, triage: false, rules: { service.down: { after: 0s } } }
`;
  const env = {
    MIRROR_NATS_URL: nats.url,
    MIRROR_REDIS_URL: redis.url,
    MIRROR_HTTP_HOST: "127.0.0.1",
    ACC_REDIS_PASSWORD: "acc-pass",
  };
  const mesh: Mesh = startMesh(yaml, { env, names: ["service-tracker", "loop-detector"] });
  const open = async () =>
    ((await (await fetch(`http://127.0.0.1:${loopsPort}/loops?status=open`)).json()) as { loops: Loop[] }).loops;
  try {
    await mesh.waitForLine(/^loop-detector .*"msg":"service started"/, 120_000);
    await mesh.waitForLine(/^service-tracker .*"check":"cache".*"to":"up"/, 60_000);
    const domainLoop = await waitFor(
      "a domain.expiring loop",
      async () => (await open().catch(() => [])).find((l) => l.kind === "domain.expiring"),
      { timeout: 60_000 },
    );
    assert.match(domainLoop.summary, /home\.example/);
    assert.equal(domainLoop.evidence.expiresAt, expiry);

    const pid = servicePid(mesh, "service-tracker");
    assert.ok(pid, "the tracker runs as its own process");
    // A second check, added while the mesh runs: down at once, so its loop shows it is tracked.
    // (startMesh appends console and history sections: the check goes after the last one in tracker.checks.)
    const site = /^ {4}- \{ name: site.*\n/m;
    writeFileSync(
      mesh.configFile,
      readFileSync(mesh.configFile, "utf8").replace(
        site,
        (line) => `${line}    - { name: added-live, interval: 500ms, tcp: { host: 127.0.0.1, port: ${closedPort} } }\n`,
      ),
    );
    const text = readFileSync(mesh.configFile, "utf8");
    assert.match(text, /added-live/);
    await waitFor(
      "the added check's loop",
      async () =>
        (await open().catch(() => [])).find(
          (l) => l.kind === "service.down" && JSON.stringify(l).includes("added-live"),
        ),
      { timeout: 10_000 },
    );
    assert.equal(servicePid(mesh, "service-tracker"), pid, "no restart");

    // A broken save: logged, and the tracker keeps running on the old config.
    writeFileSync(mesh.configFile, `${text.slice(0, text.indexOf("checks:") + 12)}`);
    await mesh.waitForLine(/^service-tracker .*config reload rejected/, 10_000);
    assert.equal(servicePid(mesh, "service-tracker"), pid, "still the same process");
    const loops = await open();
    assert.ok(
      loops.some((l) => l.kind === "domain.expiring"),
      "still open",
    );
    const secretSeen = mesh.output.some((l) => l.includes("acc-pass"));
    assert.equal(secretSeen, false, "the redis password is in no log line");
  } finally {
    await mesh.stop();
  }
});

test("pnpm mirror maintenance add: a redis check stopped inside the window sends nothing until the window ends, then exactly one firing", async () => {
  const { startReceiver, REPO_ROOT } = await import("@mirror/testkit");
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const hook = await startReceiver();
  const victim = await startRedis();
  const [trackerPort, loopsPort] = await Promise.all([freePort(), freePort()]);
  const yaml = `tracker:
  port: ${trackerPort}
  mesh: { enabled: false }
  checks:
    - { name: cache, interval: 500ms, redis: { url: "${victim.url}", timeout: 1s } }
loops: { port: ${loopsPort}, triage: false, rules: { service.down: { after: 0s } } }
notifier: { groupWait: 0s, groupInterval: 1s, repeatInterval: 1h, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
`;
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" };
  const mesh: Mesh = startMesh(yaml, { env, names: ["service-tracker", "loop-detector", "notifier"] });
  type Alert = { status: string; labels: Record<string, string> };
  const firing = () =>
    hook.requests.filter((r) =>
      ((r.json as { alerts?: Alert[] })?.alerts ?? []).some(
        (a) => a.status === "firing" && a.labels.service === "cache",
      ),
    );
  const mirror = (...args: string[]) =>
    promisify(execFile)("pnpm", ["mirror", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, MIRROR_CONFIG: mesh.configFile, MIRROR_DATA_DIR: mesh.dataDir },
    });
  try {
    await mesh.waitForLine(/^notifier .*"msg":"service started"/, 120_000);
    await mesh.waitForLine(/^service-tracker .*"check":"cache".*"to":"up"/, 60_000);
    const added = await mirror("maintenance", "add", "backup", "--check", "cache", "--for", "20s");
    assert.match(added.stdout, /maintenance: backup {2}on until/);
    const windowEnd = Date.now() + 20_000;
    const listed = await mirror("maintenance", "list", "--json");
    assert.equal(
      (JSON.parse(listed.stdout) as { name: string; active: boolean }[]).find((w) => w.name === "backup")?.active,
      true,
    );

    await victim.stop();
    await mesh.waitForLine(/^service-tracker .*"check":"cache".*"to":"down"/, 15_000);
    const loop = await waitFor(
      "the loop in maintenance",
      async () => {
        const loops = (
          (await (await fetch(`http://127.0.0.1:${loopsPort}/loops?status=maintenance`)).json()) as { loops: Loop[] }
        ).loops;
        return loops.find((l) => l.kind === "service.down" && l.entity.service === "cache");
      },
      { timeout: 15_000 },
    );
    assert.deepEqual(loop.suppressedBy, ["maintenance:backup"]);
    assert.equal(firing().length, 0, "nothing sent inside the window");

    await waitFor("one firing notification after the window", () => firing().length > 0, { timeout: 60_000 });
    assert.ok(Date.now() >= windowEnd - 1_500, "not before the window ends");
    assert.equal(firing().length, 1);
  } finally {
    await mesh.stop();
    await Promise.all([hook.close(), victim.dispose()]);
  }
});
