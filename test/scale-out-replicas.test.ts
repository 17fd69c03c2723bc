// Issue 24, exactly once across replicas: two loop-detectors and two notifiers share their
// durable consumers against one NATS and one Redis. 40 repos turn dirty, one replica of each is
// killed with -9 while the firing notifications go out (and started again), then every repo is
// committed. Each repo gets exactly one firing and exactly one resolved notification.
import assert from "node:assert/strict";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  commitAll,
  makeRepo,
  type Receiver,
  type ServerHandle,
  type ServiceProcess,
  spawnService,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { alertsOf } from "./faults-kit/hook.js";
import { listenablePort } from "./faults-kit/mesh.js";

const REPOS = 40;

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
});
after(async () => {
  await Promise.all([nats?.dispose(), redis?.dispose(), hook?.close()]);
});

function run(dir: string, service: string, label: string, yaml: string): ServiceProcess {
  return spawnService({ dir, service, label, yaml, env: { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url } });
}

const started = (p: ServiceProcess) => p.output.some((l) => l.includes('"msg":"service started"'));

/** Per repo: the distinct deliveries (webhook-id) that carried it as firing and as resolved, and requests that repeated an id. */
function count(): { firing: Map<string, Set<string>>; resolved: Map<string, Set<string>>; resent: number } {
  const firing = new Map<string, Set<string>>();
  const resolved = new Map<string, Set<string>>();
  const seen = new Set<string>();
  let resent = 0;
  for (const r of hook.requests) {
    const id = String(r.headers["webhook-id"] ?? "");
    if (seen.has(id)) resent++;
    seen.add(id);
    for (const a of alertsOf(r)) {
      if (a.labels.alertname !== "repo.dirty") continue;
      const into = a.status === "firing" ? firing : resolved;
      const key = a.labels.repo ?? "";
      into.set(key, (into.get(key) ?? new Set()).add(id));
    }
  }
  return { firing, resolved, resent };
}

test("two loop-detectors and two notifiers, one of each killed -9 mid-run: each of 40 repos gets one firing and one resolved", {
  timeout: 170_000,
}, async (t) => {
  const dir = tempDir("mirror-replicas-e2e-");
  const root = join(dir, "roots");
  const repos = Array.from({ length: REPOS }, (_, i) => makeRepo(join(root, `repo-${String(i).padStart(2, "0")}`)));
  const ports = {
    scanner: await listenablePort(),
    la: await listenablePort(),
    lb: await listenablePort(),
    na: await listenablePort(),
    nb: await listenablePort(),
  };
  const base = `scanner: { port: ${ports.scanner}, roots: [ "${root}" ], interval: 1s }
loops: { PORT_LOOPS, rules: { repo.dirty: { after: 0s } } }
notifier:
  PORT_NOTIFIER
  groupWait: 1s
  groupBy: [alertname, repo]
  repeatInterval: 24h
  backoff: 200ms
  maxBackoff: 2s
  maxAttempts: 100
  channels: [ { name: hook, type: webhook, url: "${hook.url}" } ]
`;
  const yaml = (loops: number, notifier: number) =>
    base.replace("PORT_LOOPS", `port: ${loops}`).replace("PORT_NOTIFIER", `port: ${notifier}`);
  const procs: ServiceProcess[] = [];
  const start = (service: string, label: string, loops: number, notifier: number) => {
    const p = run(dir, service, label, yaml(loops, notifier));
    procs.push(p);
    return p;
  };
  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} +${((Date.now() - t0) / 1000).toFixed(1)}s`);
  try {
    const la = start("loop-detector", "loops-a", ports.la, ports.na);
    const na = start("notifier", "notifier-a", ports.la, ports.na);
    start("loop-detector", "loops-b", ports.lb, ports.nb);
    start("notifier", "notifier-b", ports.lb, ports.nb);
    start("scanner", "scanner", ports.la, ports.na);
    await waitFor("every process started", () => procs.every(started), { timeout: 90_000, interval: 200 }).catch(
      (err: Error) => {
        throw new Error(
          `${err.message}\n${procs.flatMap((p) => p.output.slice(-5).map((l) => `${p.label}: ${l}`)).join("\n")}`,
        );
      },
    );
    phase("started");
    // Both replicas of each take messages from the shared durable consumers (and 2 s for the scanner's first clean pass).
    await new Promise((r) => setTimeout(r, 2_000));
    for (const r of repos) writeFileSync(join(r, "wip.txt"), "unfinished\n");
    phase("dirty");
    await waitFor("some firings", () => count().firing.size >= 8, { timeout: 60_000, interval: 50 });
    la.child.kill("SIGKILL");
    na.child.kill("SIGKILL");
    await Promise.all([once(la.child, "exit"), once(na.child, "exit")]);
    phase(`killed loops-a and notifier-a after ${count().firing.size} firings`);
    // They come back (new member ids, same durable consumers) before the resolutions.
    const la2 = start("loop-detector", "loops-a2", ports.la, ports.na);
    const na2 = start("notifier", "notifier-a2", ports.la, ports.na);
    await waitFor("every repo's firing", () => count().firing.size === REPOS, { timeout: 60_000, interval: 100 });
    phase("all firing");
    await waitFor("the killed replicas back", () => started(la2) && started(na2), { timeout: 60_000, interval: 200 });
    phase("restarted");
    for (const r of repos) commitAll(r, "finish");
    await waitFor("every repo's resolved", () => count().resolved.size === REPOS, { timeout: 60_000, interval: 100 });
    phase("all resolved");
    // A moment for any second (wrong) message to arrive.
    await new Promise((r) => setTimeout(r, 3_000));
    const c = count();
    const twice = (m: Map<string, Set<string>>) =>
      [...m].filter(([, ids]) => ids.size !== 1).map(([repo, ids]) => `${repo}: ${ids.size}`);
    t.diagnostic(`phases: ${phases.join(", ")}`);
    const firstAt = new Map<string, number>();
    for (const r of hook.requests) {
      const id = String(r.headers["webhook-id"] ?? "");
      if (!firstAt.has(id)) firstAt.set(id, r.at);
      else if (process.env.MIRROR_TEST_VERBOSE) {
        t.diagnostic(
          `re-sent ${id} +${r.at - (firstAt.get(id) as number)} ms at +${r.at - t0} ms ${alertsOf(r)
            .map((a) => a.status)
            .join()} ${JSON.stringify(r.headers)}`,
        );
        for (const p of procs)
          for (const l of p.output) if (l.includes(id)) t.diagnostic(`  ${p.label}: ${l.slice(0, 400)}`);
      }
    }
    t.diagnostic(
      `requests ${hook.requests.length}, firing ${c.firing.size}, resolved ${c.resolved.size}, re-sent ids ${c.resent}`,
    );
    assert.deepEqual(twice(c.firing), [], "each repo one firing");
    assert.deepEqual(twice(c.resolved), [], "each repo one resolved");
    assert.equal(c.firing.size, REPOS);
    assert.equal(c.resolved.size, REPOS);
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  }
});
