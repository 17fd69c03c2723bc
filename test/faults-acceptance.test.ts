// Issue 10's acceptance, as a new user would try it: 40 repos become dirty while nats-server is
// killed with -9 and restarted and the loop-detector is killed with -9, while garbage lands on
// the four subscribed subject families. Every repo is notified exactly once, every service is
// healthy at the end, and the garbage is on mirror.dlq.>.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { repoKey, STREAM } from "@mirror/contracts";
import {
  killService,
  linesOf,
  makeRepo,
  type Receiver,
  type ServerHandle,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { matchDeadLetters, type Sent, throwGarbage } from "./faults-kit/garbage.js";
import { lostAndDuplicated, tally } from "./faults-kit/hook.js";
import {
  assertCleanStop,
  deaths,
  meshPorts,
  metric,
  portSections,
  readiness,
  runMesh,
  waitStarted,
} from "./faults-kit/mesh.js";
import { openProbe, type Probe } from "./faults-kit/probe.js";
import { meshStatuses, openedCounts, quiesce } from "./faults-kit/settle.js";

const REPOS = 40;
let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
let probe: Probe;

before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
  probe = await openProbe(nats.url);
});
after(async () => {
  await probe?.close();
  await Promise.all([nats?.dispose(), redis?.dispose(), hook?.close()]);
});

test("40 repos dirty through NATS kill -9, loop-detector kill -9 and garbage: each notified once, all healthy, garbage dead-lettered", async (t) => {
  const root = tempDir("mirror-faults-roots-");
  const repos = Array.from({ length: REPOS }, (_, i) => makeRepo(join(root, `repo-${String(i).padStart(2, "0")}`)));
  const ports = await meshPorts();
  const p = portSections(ports);
  const mesh = runMesh(
    `scanner: { ${p.scanner}, roots: [ "${root}" ], interval: 1s, resync: 5s }
tracker: { ${p.tracker}, discoverEvery: 2s }
loops: { ${p.loops}, rules: { repo.dirty: { after: 0s } } }
notifier:
  ${p.notifier}
  groupWait: 1s
  groupBy: [alertname, repo]
  repeatInterval: 24h
  backoff: 200ms
  maxBackoff: 2s
  maxAttempts: 100
  channels: [ { name: hook, type: webhook, url: "${hook.url}" } ]
model: { ${p.model} }
`,
    nats,
    redis,
  );
  let faults = 0;
  let stopped: number | null = null;
  const garbage: Sent[] = [];
  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} +${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const dirty = (from: number, to: number) => {
    for (const r of repos.slice(from, to)) writeFileSync(join(r, "wip.txt"), "unfinished\n");
  };
  try {
    await waitStarted(mesh);
    phase("started");
    await waitFor(
      "a clean snapshot of every repo",
      async () => {
        const info = await probe.jsm.streams.info(STREAM.name, { subjects_filter: "mirror.repo.snapshot.>" });
        return repos.every((r) => info.state.subjects?.[`mirror.repo.snapshot.${repoKey(r)}`]);
      },
      { timeout: 120_000, interval: 250 },
    );

    phase("scanned");
    dirty(0, 10);
    const triedBefore = linesOf(mesh, "scanner", /publish not acknowledged/).length;
    await nats.kill();
    faults++;
    dirty(10, 20);
    // NATS stays down until the scanner has tried to publish into the outage (and retries with the same id).
    await waitFor(
      "the scanner publishing into the outage",
      () => linesOf(mesh, "scanner", /publish not acknowledged/).length > triedBefore,
      { timeout: 90_000, interval: 100 },
    );
    await nats.restart();
    garbage.push(...(await throwGarbage(probe, undefined, "after-nats")));
    dirty(20, 30);
    await killService(mesh, "loop-detector");
    faults++;
    garbage.push(...(await throwGarbage(probe, undefined, "after-kill")));
    dirty(30, 40);
    phase("faults done");

    await waitFor(
      "a firing notification for every repo",
      () => tally(hook.requests, "repo.dirty").firing.size >= REPOS,
      { timeout: 180_000, interval: 250 },
    );
    phase("all notified");
    // Quiet: a full resync of every repo after the last notification was consumed, nothing lags, nothing is owed.
    const settled = await quiesce({ probe, ports, repos, since: Date.now() });
    phase("settled");
    const counted = tally(hook.requests, "repo.dirty");
    const { lost, duplicated } = lostAndDuplicated(counted, repos);
    const dlq = await probe.dlq();
    const dead = matchDeadLetters(garbage, dlq);
    const figures = {
      events: settled.events,
      repos: REPOS,
      faults: faults + garbage.length,
      garbage: garbage.length,
      lost: lost.length,
      duplicated: duplicated.length,
      resentSameKey: counted.resent,
      webhookRequests: hook.attempts.length,
      deadLetters: dlq.length,
    };
    t.diagnostic(`phases ${phases.join(", ")}`);
    t.diagnostic(`figures ${JSON.stringify(figures)}`);
    assert.deepEqual(lost, [], "every dirty repo was notified");
    assert.deepEqual(duplicated, [], "no repo was notified twice");
    const opened = await openedCounts(probe);
    assert.deepEqual(
      repos.filter((r) => opened.get(`repo.dirty ${r}`) !== 1),
      [],
      "every repo's loop opened exactly once",
    );
    assert.deepEqual(
      dead.missing.map((m) => `${m.subject} ${m.name}`),
      [],
      "every garbage message is on mirror.dlq.>",
    );
    for (const [name, port] of [
      ["loop-detector", ports["loop-detector"]],
      ["notifier", ports.notifier],
      ["service-tracker", ports["service-tracker"]],
    ] as const) {
      assert.ok((await metric(port, "mirror_bus_dlq_total")) > 0, `${name} counts its dead letters`);
    }
    assert.deepEqual(await readiness(ports), {
      scanner: 200,
      "service-tracker": 200,
      "loop-detector": 200,
      notifier: 200,
      "model-rules": 200,
    });
    const died = deaths(mesh);
    assert.equal(died.length, 1, `only the loop-detector we killed died:\n${died.join("\n")}`);
    assert.match(died[0] ?? "", /^loop-detector\s*\| exited \(SIGKILL\)/);
    // The tracker's own view through $SRV discovery: each member back up (it polls every 2s).
    let statuses: Record<string, string> = {};
    await waitFor(
      "the tracker seeing every member up",
      async () => {
        statuses = await meshStatuses(probe);
        return ["scanner", "service-tracker", "loop-detector", "notifier"].every((n) => statuses[n] === "up");
      },
      { timeout: 60_000, interval: 500 },
    ).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(statuses)}`));
  } finally {
    stopped = await mesh.stop();
  }
  assertCleanStop(mesh, stopped);
});
