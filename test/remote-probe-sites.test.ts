// Issue 24, remote probe sites: a hub nats-server and a real leaf node nats-server; a tracker at
// `home` on the hub and one at `office` on the leaf, each with its own Redis, probing a local HTTP
// server through its own "network" (two listeners, so each site can see a different answer).
// Shown: statuses per site; quorum (down from one of two sites with quorum 2: no loop; from both:
// one service.down naming both sites); a status from a site for a check not assigned to it:
// ignored and counted; the office site going silent: one site.unreachable, closed when it is back.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Bus, type IdentitySpec } from "@mirror/bus";
import { type Loop, type ServiceStatus, serviceStatus } from "@mirror/contracts";
import { createLogger, parseConfig, type RunningService, runService } from "@mirror/kit";
import {
  freePort,
  type NatsHub,
  type NatsLeaf,
  type ServerHandle,
  startNatsHub,
  startNatsLeaf,
  startNats,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import { run as identityCommand } from "../packages/cli/src/commands/identity.js";
import { provisionAsOperator } from "../packages/cli/src/identity/provision.js";
import { loopDetectorSpec } from "../services/loop-detector/src/app.js";
import { trackerSpec } from "../services/service-tracker/src/app.js";

const TOKEN = "remote-probe-test-token";
let hub: NatsHub;
let leaf: NatsLeaf;
let homeRedis: ServerHandle;
let officeRedis: ServerHandle;
/** What each site's path to the checked service `web` answers: true = 200, false = the connection dropped (`nas` is always up). */
const up = { home: true, office: true };
const servers: Server[] = [];
const urls = { home: "", office: "" };

async function httpServer(site: "home" | "office"): Promise<string> {
  // Down is unreachable: the connection is dropped (a 503 would be degraded).
  const s = createServer((req, res) => {
    if (!up[site] && req.url === "/web") return void req.socket.destroy();
    res.writeHead(200);
    res.end("ok");
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  servers.push(s);
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

before(async () => {
  hub = await startNatsHub();
  [leaf, homeRedis, officeRedis, urls.home, urls.office] = await Promise.all([
    startNatsLeaf(hub),
    startRedis(),
    startRedis(),
    httpServer("home"),
    httpServer("office"),
  ]);
});

after(async () => {
  await Promise.all([leaf?.dispose(), homeRedis?.dispose(), officeRedis?.dispose()]);
  await hub?.dispose();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

function yaml(
  site: "home" | "office",
  natsUrl: string,
  redisUrl: string,
  ports: { tracker: number; loops: number },
  identityDir?: string,
) {
  return `bus: { url: "${natsUrl}"${identityDir ? `, identityDir: "${identityDir}"` : ""} }
store: { url: "${redisUrl}" }
tracker:
  port: ${ports.tracker}
  site: ${site}
  sites: [home, office]
  resyncEvery: 1s
  siteMissed: 3
  mesh: { enabled: false }
  checks:
    - { name: web, interval: 250ms, failureThreshold: 1, http: { url: "${urls[site]}/web", timeout: 1s } }
    - { name: nas, interval: 250ms, sites: [home], http: { url: "${urls[site]}/nas", timeout: 1s } }
loops: { port: ${ports.loops}, triage: false, tick: 200ms, rules: { service.down: { after: 0s } } }
`;
}

const env = { MIRROR_IDENTITY: "off" } as NodeJS.ProcessEnv;

test("remote probe sites: per-site statuses, quorum, an unassigned status ignored, a silent site opens one site.unreachable", async () => {
  const ports = { home: await freePort(), office: await freePort(), loops: await freePort() };
  const logLines: string[] = [];
  const logDest = { write: (s: string) => void logLines.push(s) };
  const config = (site: "home" | "office") =>
    parseConfig(
      yaml(site, site === "home" ? hub.url : leaf.url, site === "home" ? homeRedis.url : officeRedis.url, {
        tracker: ports[site],
        loops: ports.loops,
      }),
      env,
    );
  // Every status on the hub, as the loop-detector gets them (core subscription beside JetStream).
  const seen: ServiceStatus[] = [];
  const nc: NatsConnection = await connect({ servers: hub.url });
  const sub = nc.subscribe("mirror.service.status.>");
  void (async () => {
    for await (const m of sub) seen.push(JSON.parse(new TextDecoder().decode(m.data)) as ServiceStatus);
  })();
  const run = (spec: Parameters<typeof runService>[0], site: "home" | "office") =>
    runService(spec, { config: config(site), env, httpToken: TOKEN, logDest, port: 0 });
  const started: RunningService[] = [];
  const loops = async (): Promise<Loop[]> => {
    const res = await fetch(`http://127.0.0.1:${ports.loops}/loops`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return ((await res.json()) as { loops: Loop[] }).loops;
  };
  const active = async (kind: string) => (await loops()).filter((l) => l.kind === kind && l.status !== "closed");
  const statusAfter = (from: number, site: string, name: string, state: string) =>
    waitFor(
      `a ${state} status of ${name} from ${site}`,
      async () => seen.slice(from).find((s) => s.site === site && s.name === name && s.state === state),
      { timeout: 10_000 },
    );
  try {
    const detector = await runService(loopDetectorSpec(), {
      config: config("home"),
      env,
      httpToken: TOKEN,
      logDest,
      port: ports.loops,
    });
    started.push(detector);
    const home = await run(trackerSpec(), "home");
    started.push(home);
    let office = await run(trackerSpec(), "office");
    started.push(office);

    // Per-site statuses: web from both sites, nas only from home (the office tracker does not run it).
    await statusAfter(0, "home", "web", "up");
    await statusAfter(0, "office", "web", "up");
    await statusAfter(0, "home", "nas", "up");
    assert.equal(
      seen.some((s) => s.name === "nas" && s.site === "office"),
      false,
      "the office tracker runs only the checks of its site",
    );

    // Down from one of two sites, quorum 2 (the default: every site it runs at): no loop.
    up.office = false;
    let mark = seen.length;
    await statusAfter(mark, "office", "web", "down");
    // Two keep-alives later from both sites, still nothing opened.
    mark = seen.length;
    await statusAfter(mark, "home", "web", "up");
    await statusAfter(seen.length, "office", "web", "down");
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(await active("service.down"), [], "down from 1 of 2 sites with quorum 2 opens nothing");

    // Down from both: one service.down that names both sites.
    up.home = false;
    const t0 = performance.now();
    const [loop] = await waitFor("a service.down loop for web", async () => {
      const l = await active("service.down");
      return l.length ? l : undefined;
    });
    const quorumMs = Math.round(performance.now() - t0);
    assert.ok(loop);
    assert.equal((await active("service.down")).length, 1, "one loop");
    assert.equal(loop.entity.service, "web");
    assert.match(loop.summary, /web is down from home, office/);
    assert.deepEqual(loop.evidence.sites, ["home", "office"]);

    // A status from the office site for a check only home runs: ignored and counted, with a log line.
    const forger = await Bus.connect({
      name: "service-tracker",
      url: hub.url,
      log: createLogger("forger"),
      registry: new Registry(),
    });
    const now = new Date().toISOString();
    await forger.publish(
      serviceStatus,
      "nas",
      {
        name: "nas",
        kind: "http",
        state: "down",
        observedAt: now,
        seq: Date.now(),
        since: now,
        latencyMs: null,
        reason: "forged",
        failedConditions: [],
        heartbeat: null,
        cert: null,
        dependsOn: [],
        details: {},
        site: "office",
      },
      { id: `forged:nas:${Date.now()}` },
    );
    await forger.close();
    await waitFor("the ignored status counted", async () => {
      const text = await (
        await fetch(`http://127.0.0.1:${ports.loops}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      return /mirror_loop_site_status_ignored_total\{site="office",reason="not_assigned"\} 1/.test(text);
    });
    assert.ok(
      logLines.some((l) => l.includes('"site":"office"') && l.includes('"check":"nas"') && l.includes("ignored")),
      "a log line names the site and the check",
    );
    assert.equal(
      (await loops()).some((l) => l.entity.service === "nas"),
      false,
      "the forged down status opened nothing",
    );

    // Both sites see web up again: the loop closes.
    up.home = true;
    up.office = true;
    await waitFor("web's loop closed", async () => (await active("service.down")).length === 0);

    // The office site goes silent (its tracker stops): one site.unreachable after 3 x 1s.
    const silentAt = performance.now();
    await office.stop();
    started.splice(started.indexOf(office), 1);
    const [unreachable] = await waitFor(
      "a site.unreachable loop",
      async () => {
        const l = await active("site.unreachable");
        return l.length ? l : undefined;
      },
      { timeout: 15_000 },
    );
    const silentMs = Math.round(performance.now() - silentAt);
    assert.ok(unreachable);
    assert.equal(unreachable.entity.site, "office");
    assert.deepEqual(unreachable.evidence.checks, ["web"]);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await active("site.unreachable")).length, 1, "one site.unreachable, not one loop per check");
    assert.deepEqual(await active("service.down"), [], "no loop per check of the silent site");

    // The office comes back: the loop closes.
    const backAt = performance.now();
    office = await run(trackerSpec(), "office");
    started.push(office);
    await waitFor("site.unreachable closed", async () => (await active("site.unreachable")).length === 0, {
      timeout: 10_000,
    });
    const backMs = Math.round(performance.now() - backAt);
    process.stdout.write(
      `# remote-probe: service.down after both sites saw it down ${quorumMs} ms; site.unreachable ${silentMs} ms after the site went silent (siteMissed 3 x resyncEvery 1s); closed ${backMs} ms after it came back\n`,
    );
  } catch (err) {
    if (process.env.DEBUG_SITES)
      process.stdout.write(
        logLines
          .filter((l) => /"level":"(warn|error)"/.test(l))
          .join("")
          .slice(-6000),
      );
    throw err;
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    await nc.close();
  }
});

test("with identities: the office tracker is site-office on a leaf node from add-site's leaf.conf, and the hub's loop-detector verifies its statuses", async () => {
  const root = tempDir("mirror-sites-id-");
  const dir = join(root, "id");
  const quiet = async (f: () => Promise<number>) => {
    const write = process.stdout.write;
    process.stdout.write = (() => true) as never;
    try {
      return await f();
    } finally {
      process.stdout.write = write;
    }
  };
  const ports = { home: await freePort(), office: await freePort(), loops: await freePort(), leaf: await freePort() };
  const [hubRedis, siteRedis] = await Promise.all([startRedis(), startRedis()]);
  const yamlFile = join(root, "mirror.yaml");
  writeFileSync(
    yamlFile,
    yaml("home", "nats://127.0.0.1:1", hubRedis.url, { tracker: ports.home, loops: ports.loops }),
  );
  assert.equal(await quiet(() => identityCommand(["init", "--out", dir], {})), 0);
  const hubArg = ["--hub", `127.0.0.1:${ports.leaf}`];
  assert.equal(
    await quiet(() => identityCommand(["add-site", "office", "--dir", dir, ...hubArg], { MIRROR_CONFIG: yamlFile })),
    0,
  );
  const password = readFileSync(join(dir, "site-office", "leaf-password"), "utf8").trim();
  const hubNats = await startNats({
    config: `${readFileSync(join(dir, "accounts.conf"), "utf8")}
leafnodes { listen: "127.0.0.1:${ports.leaf}", authorization { users: [ { user: "site-office", password: "${password}", account: "MIRROR" } ] } }
`,
  });
  const started: RunningService[] = [];
  let siteLeaf: ServerHandle | undefined;
  try {
    const homeConfig = parseConfig(
      yaml("home", hubNats.url, hubRedis.url, { tracker: ports.home, loops: ports.loops }, dir),
      {},
    );
    const table = JSON.parse(readFileSync(join(dir, "identities.json"), "utf8")) as IdentitySpec[];
    await provisionAsOperator(homeConfig, join(dir, "operator.nk"), table);
    siteLeaf = await startNatsLeaf(
      { leafPort: ports.leaf },
      { config: readFileSync(join(dir, "site-office", "leaf.conf"), "utf8") },
    );
    const officeConfig = parseConfig(
      yaml(
        "office",
        siteLeaf.url,
        siteRedis.url,
        { tracker: ports.office, loops: ports.loops },
        join(dir, "site-office"),
      ),
      {},
    );
    const warnings: string[] = [];
    const logDest = { write: (l: string) => void (/"level":"(warn|error)"/.test(l) && warnings.push(l)) };
    const opts = { env: {}, httpToken: TOKEN, logDest };
    started.push(await runService(loopDetectorSpec(), { ...opts, config: homeConfig, port: ports.loops }));
    started.push(await runService(trackerSpec(), { ...opts, config: homeConfig, port: 0 }));
    const office = await runService(trackerSpec(), { ...opts, config: officeConfig, port: 0 });
    started.push(office);
    assert.equal(office.ctx.bus.name, "site-office", "the office tracker is the site's identity");
    const active = async () => {
      const res = await fetch(`http://127.0.0.1:${ports.loops}/loops`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return ((await res.json()) as { loops: Loop[] }).loops.filter(
        (l) => l.kind === "service.down" && l.status !== "closed",
      );
    };
    // Down from both sites: the office's signed statuses count, so the quorum of 2 is met.
    up.home = false;
    up.office = false;
    const [loop] = await waitFor("service.down from both sites", async () => {
      const l = await active();
      return l.length ? l : undefined;
    });
    assert.match(loop?.summary ?? "", /web is down from home, office/);
    // Nothing refused on the way: no permission error, no dead letter, no signature problem.
    assert.deepEqual(
      warnings.filter((l) => /ermission|signature|dead|not published/i.test(l)),
      [],
    );
  } finally {
    up.home = true;
    up.office = true;
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    await siteLeaf?.dispose();
    await Promise.all([hubNats.dispose(), hubRedis.dispose(), siteRedis.dispose()]);
  }
});
