// Faults (2), (3) and (4) of issue 10 under a steady stream of changing repos and a flapping
// service: each service is killed with -9 in turn (the `pnpm start` supervisor restarts it),
// redis-server restarts (append-only file on), and the webhook receiver fails for a minute.
// After each phase: every expected loop notified once (firing, then resolved), nothing said
// twice, no consumer lag, nothing owed, every service ready.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  commitAll,
  killService,
  makeRepo,
  type Receiver,
  type ServerHandle,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { type Flappy, startFlappy } from "./faults-kit/flappy.js";
import { saidTwice, timelines } from "./faults-kit/hook.js";
import {
  assertCleanStop,
  deaths,
  meshPorts,
  type Ports,
  portSections,
  readiness,
  runMesh,
  waitStarted,
} from "./faults-kit/mesh.js";
import { openProbe, type Probe } from "./faults-kit/probe.js";
import { openedCounts, quiesce } from "./faults-kit/settle.js";

const BATCH = 4;
const FAIL_MS = 60_000;
let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
let flappy: Flappy;
let probe: Probe;

before(async () => {
  [nats, redis, hook, flappy] = await Promise.all([
    startNats(),
    startRedis({ appendonly: true }),
    startReceiver(),
    startFlappy(),
  ]);
  probe = await openProbe(nats.url);
});
after(async () => {
  await probe?.close();
  await Promise.all([nats?.dispose(), redis?.dispose(), hook?.close(), flappy?.close()]);
});

function meshYaml(root: string, ports: Ports): string {
  const p = portSections(ports);
  return `scanner: { ${p.scanner}, roots: [ "${root}" ], interval: 1s, resync: 5s }
tracker:
  ${p.tracker}
  discoverEvery: 2s
  checks: [ { name: flappy, interval: 300ms, http: { url: "${flappy.url}", timeout: 2s } } ]
loops: { ${p.loops}, triageRetry: 2s, rules: { repo.dirty: { after: 0s }, service.down: { after: 0s } } }
notifier:
  ${p.notifier}
  groupWait: 1s
  groupBy: [alertname, repo, service]
  repeatInterval: 24h
  backoff: 200ms
  maxBackoff: 2s
  maxAttempts: 100
  channels: [ { name: hook, type: webhook, url: "${hook.url}" } ]
model: { ${p.model} }
`;
}

/** Waits until each alert key has said exactly `said` (deliveries counted once per id). */
async function expectSaid(want: Record<string, string[]>, timeout = 180_000): Promise<void> {
  let last = new Map<string, string[]>();
  await waitFor(
    "the expected notifications",
    () => {
      last = timelines(hook.requests);
      return Object.entries(want).every(([k, said]) => (last.get(k) ?? []).join(",") === said.join(","));
    },
    { timeout, interval: 250 },
  ).catch((err: Error) => {
    const diff = Object.entries(want)
      .filter(([k, s]) => (last.get(k) ?? []).join(",") !== s.join(","))
      .map(([k, s]) => `${k}: want ${s} got ${last.get(k) ?? []}`);
    throw new Error(`${err.message}\n${diff.join("\n")}`);
  });
}

test("each service kill -9, a redis restart and a webhook down for a minute: every loop notified once, nothing said twice", async (t) => {
  const root = tempDir("mirror-faults-svc-");
  const repos = Array.from({ length: 3 * BATCH }, (_, i) => makeRepo(join(root, `r${i}`)));
  const batch = (i: number) => repos.slice(i * BATCH, (i + 1) * BATCH);
  const dirty = (i: number) => {
    for (const r of batch(i)) writeFileSync(join(r, "wip.txt"), `${i}\n`);
  };
  const clean = (i: number) => {
    for (const r of batch(i)) commitAll(r, "done");
  };
  const said = (i: number, s: string[]) => Object.fromEntries(batch(i).map((r) => [`repo.dirty ${r}`, s]));
  const ports = await meshPorts();
  const mesh = runMesh(meshYaml(root, ports), nats, redis);
  const t0 = Date.now();
  const phases: string[] = [];
  let faults = 0;
  let failed = 0;
  let stopped: number | null = null;
  const check = async (name: string) => {
    const settled = await quiesce({ probe, ports, repos, since: Date.now() });
    assert.deepEqual(saidTwice(timelines(hook.requests)), [], `${name}: nothing said twice`);
    assert.ok(
      Object.values(await readiness(ports)).every((s) => s === 200),
      `${name}: every service ready`,
    );
    phases.push(`${name} +${((Date.now() - t0) / 1000).toFixed(0)}s (${settled.events} events)`);
    return settled.events;
  };
  try {
    await waitStarted(mesh);
    await check("started");
    dirty(0);
    await killService(mesh, "scanner");
    flappy.up = false;
    await killService(mesh, "service-tracker");
    faults += 2;
    await expectSaid({ ...said(0, ["firing"]), "service.down flappy": ["firing"] });
    await check("scanner, service-tracker killed");

    dirty(1);
    clean(0);
    await killService(mesh, "loop-detector");
    flappy.up = true;
    faults++;
    await expectSaid({
      ...said(0, ["firing", "resolved"]),
      ...said(1, ["firing"]),
      "service.down flappy": ["firing", "resolved"],
    });
    await check("loop-detector killed");

    const failFrom = Date.now();
    hook.respond(() => {
      if (Date.now() - failFrom >= FAIL_MS) return 200;
      failed++;
      return 503;
    });
    dirty(2);
    clean(1);
    flappy.up = false;
    await killService(mesh, "notifier");
    await killService(mesh, "model-rules");
    await redis.restart();
    faults += 4;
    await expectSaid({
      ...said(1, ["firing", "resolved"]),
      ...said(2, ["firing"]),
      "service.down flappy": ["firing", "resolved", "firing"],
    });
    assert.ok(failed > 0 && Date.now() - failFrom >= FAIL_MS, "the notifications waited out the failing minute");
    await check("notifier, model-rules killed, redis restarted, webhook failing 60s");

    clean(2);
    flappy.up = true;
    await expectSaid({
      ...said(2, ["firing", "resolved"]),
      "service.down flappy": ["firing", "resolved", "firing", "resolved"],
    });
    const events = await check("all resolved");
    const lines = timelines(hook.requests);
    const expected = repos.length * 2 + 4;
    const got = [...lines]
      .filter(([k]) => k.startsWith("repo.dirty ") || k === "service.down flappy")
      .reduce((n, [, s]) => n + s.length, 0);
    t.diagnostic(`phases ${phases.join("; ")}`);
    t.diagnostic(
      `figures ${JSON.stringify({ events, faults, failedWebhookAnswers: failed, expectedNotifications: expected, lost: Math.max(0, expected - got), duplicated: saidTwice(lines).length, webhookRequests: hook.attempts.length })}`,
    );
    assert.equal(got, expected);
    const opened = await openedCounts(probe);
    for (const r of repos) assert.equal(opened.get(`repo.dirty ${r}`), 1, `the loop of ${r} opened once`);
    assert.equal(opened.get("service.down flappy"), 2, "flappy's loop opened once per outage");
    assert.equal(deaths(mesh).length, 5, `only the five services we killed died:\n${deaths(mesh).join("\n")}`);
  } finally {
    stopped = await mesh.stop();
  }
  assertCleanStop(mesh, stopped);
});
