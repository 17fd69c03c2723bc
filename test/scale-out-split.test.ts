// Issue 24, bad input: a split where a minority NATS node keeps replicas connected. A 3-node
// cluster with the streams at 3 replicas; a tracker and a notifier replica (and the loop-detector)
// on node 1 only, their twins on node 2 only. 6 checks go down; their firing notifications are
// decided but the webhook fails; then nodes 2 and 3 are killed -9: node 1 is up but has no
// JetStream quorum, so nothing published there is stored. The webhook recovers: the notifiers
// send what was owed, each once (claims live in Redis, not in the stream). The tracker on node 1
// stops renewing its lease (its statuses go nowhere; kit's pauseWhenBusStalls). Nodes 2 and 3
// come back; the lease is renewed and the trackers publish their statuses again (nats-server 2.9
// can leave node 1's replica without what the others stored: docs/SCALE-OUT.md), the checks are
// up, and each check has exactly one firing and one resolved notification by webhook-id. When a
// check's resolved is missing, the failure prints what the stream holds of it.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import {
  type NatsCluster,
  type Receiver,
  type ServerHandle,
  type ServiceProcess,
  spawnService,
  startNatsCluster,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { tally } from "./faults-kit/hook.js";
import { listenablePort } from "./faults-kit/mesh.js";
import { streamTrail } from "./faults-kit/trail.js";

const CHECKS = 6;
const INTERVAL = 1_000;

let cluster: NatsCluster;
let redis: ServerHandle;
let hook: Receiver;
before(async () => {
  [cluster, redis, hook] = await Promise.all([startNatsCluster(), startRedis(), startReceiver()]);
  hook.respond(() => 500);
});
after(async () => {
  await Promise.all([cluster?.dispose(), redis?.dispose(), hook?.close()]);
});

test("a minority NATS node: the trackers on it stop renewing their leases, nothing is notified twice, and all heals when the quorum returns", {
  timeout: 170_000,
}, async (t) => {
  let down = true;
  // Down: the connection is reset (a check's "down"; an HTTP 500 is "degraded").
  const server = createServer((req, res) => {
    if (down) req.socket.destroy();
    else res.end("ok");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const httpPort = (server.address() as { port: number }).port;
  const checks = Array.from({ length: CHECKS }, (_, i) => `svc-${i}`);
  const dir = tempDir("mirror-split-");
  const yaml = async () => `bus: { replicas: 3 }
tracker:
  port: ${await listenablePort()}
  mesh: { enabled: false }
  coalesce: 0s
  checks:
${checks.map((n) => `    - { name: ${n}, interval: ${INTERVAL}ms, http: { url: "http://127.0.0.1:${httpPort}/${n}", timeout: 1s } }`).join("\n")}
loops: { port: ${await listenablePort()}, triage: false, rules: { service.down: { after: 0s } } }
notifier:
  port: ${await listenablePort()}
  groupWait: 0s
  groupBy: [alertname, service]
  repeatInterval: 24h
  backoff: 200ms
  maxBackoff: 2s
  maxAttempts: 100
  channels: [ { name: hook, type: webhook, url: "${hook.url}" } ]
`;
  const [n1, n2] = [cluster.nodes[0], cluster.nodes[1]] as [ServerHandle, ServerHandle];
  const procs: ServiceProcess[] = [];
  const start = async (service: string, label: string, url: string) => {
    const file = await yaml();
    const spawn = () =>
      spawnService({
        dir,
        service,
        label,
        yaml: file,
        // Debug: the notifier says which loops it recorded (printed only when a check goes missing).
        env: { MIRROR_NATS_URL: url, MIRROR_REDIS_URL: redis.url, MIRROR_LOG_LEVEL: "debug" },
      });
    const p = spawn();
    procs.push(p);
    // Like pnpm start's supervisor: a start that failed (a JetStream API call timing out on a
    // busy machine) is tried again.
    const again = (c: ServiceProcess) =>
      c.child.once("exit", (code) => {
        if (code === 0 || c.child.signalCode === "SIGKILL" || started(c)) return;
        const next = spawn();
        procs[procs.indexOf(c)] = next;
        again(next);
      });
    again(p);
    return () => procs.find((q) => q.label === label) as ServiceProcess;
  };
  const started = (p: ServiceProcess) => p.output.some((l) => l.includes('"msg":"service started"'));
  const dump = () => procs.flatMap((p) => p.output.slice(-6).map((l) => `${p.label}: ${l.slice(0, 300)}`)).join("\n");
  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} +${((Date.now() - t0) / 1000).toFixed(1)}s`);
  try {
    // The first service makes the streams at 3 replicas; the others start once they exist.
    await start("loop-detector", "loops", n1.url);
    await waitFor("the streams", () => procs.every(started), { timeout: 120_000, interval: 200 });
    const tracker1 = await start("service-tracker", "tracker-1", n1.url);
    await start("notifier", "notifier-1", n1.url);
    await start("service-tracker", "tracker-2", n2.url);
    await start("notifier", "notifier-2", n2.url);
    await waitFor("every process started", () => procs.every(started), { timeout: 120_000, interval: 200 }).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${dump()}`);
      },
    );
    phase("started");
    const firing = () => tally(hook.requests, "service.down", "service").firing;
    // The webhook fails until the split: every check's firing is decided and owed in Redis.
    const tried = () => tally(hook.attempts, "service.down", "service").firing;
    await waitFor("every check's firing tried", () => tried().size === CHECKS, {
      timeout: 60_000,
      interval: 100,
    }).catch((err: Error) => {
      throw new Error(`${err.message}: ${tried().size} of ${CHECKS}\n${dump()}`);
    });
    phase("all firing tried");
    // The split: node 1 stays up with two replicas on it, without a quorum (the replicas on node 2
    // lose their node and find only node 1).
    const paused = (p: ServiceProcess) =>
      p.output.filter((l) => l.includes("replica lease not renewed: its output")).length;
    const before = paused(tracker1());
    await Promise.all([cluster.nodes[1]?.kill(), cluster.nodes[2]?.kill()]);
    const splitAt = Date.now();
    phase("nodes 2 and 3 killed");
    hook.respond(() => 200);
    // What was owed is sent during the split, once: claims are in Redis, which both sides reach.
    await waitFor("every check's firing sent during the split", () => firing().size === CHECKS, {
      timeout: 60_000,
      interval: 100,
    }).catch((err: Error) => {
      throw new Error(`${err.message}: ${firing().size} of ${CHECKS}\n${dump()}`);
    });
    phase("all firing sent");
    t.diagnostic(`the owed firings were sent ${Date.now() - splitAt} ms into the split`);
    // Statuses keep being published by the tracker on node 1 (the checks come up): they wait for
    // acks that cannot come, and its lease is no longer renewed.
    down = false;
    await waitFor("the tracker on node 1 stops renewing", () => paused(tracker1()) > before, {
      timeout: 30_000,
      interval: 100,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${dump()}`);
    });
    const pausedAfter = Date.now() - splitAt;
    phase("tracker-1 paused");
    t.diagnostic(`the tracker on the minority node stopped renewing ${pausedAfter} ms after the split`);
    const sentInSplit = hook.requests.length;
    await new Promise((r) => setTimeout(r, 5_000));
    // Nothing new can be decided without the stream (the checks are up, but no status is stored).
    assert.equal(hook.requests.length, sentInSplit, "no new notification without the quorum");
    await Promise.all([cluster.nodes[1]?.restart(), cluster.nodes[2]?.restart()]);
    const healAt = Date.now();
    phase("nodes 2 and 3 back");
    const resolved = () => {
      const seen = new Map<string, Set<string>>();
      for (const r of hook.requests)
        for (const a of (r.json as { alerts?: { status: string; labels: Record<string, string> }[] })?.alerts ?? [])
          if (a.status === "resolved" && a.labels.alertname === "service.down")
            seen.set(
              a.labels.service ?? "",
              (seen.get(a.labels.service ?? "") ?? new Set()).add(String(r.headers["webhook-id"])),
            );
      return seen;
    };
    await waitFor("every check's resolved", () => resolved().size === CHECKS, { timeout: 90_000, interval: 200 }).catch(
      async (err: Error) => {
        // Which stage lost it: what the stream holds of the missing checks, and every line about them.
        const missing = checks.filter((c) => !resolved().has(c));
        const trail = await streamTrail(cluster.url, missing);
        const ids = [...new Set(trail.match(/"id":"[^"]+"/g) ?? [])].map((m) => m.slice(6, -1));
        const about = procs.flatMap((p) =>
          p.output
            .filter((l) => [...missing, ...ids].some((n) => l.includes(n)))
            .map((l) => `${p.label}: ${l.slice(0, 400)}`),
        );
        throw new Error(
          `${err.message}: ${resolved().size} of ${CHECKS}, missing ${missing.join(", ")}\nstream:\n${trail}\nlines:\n${about.slice(-40).join("\n")}\n${dump()}`,
        );
      },
    );
    phase("all resolved");
    t.diagnostic(`every check resolved ${Date.now() - healAt} ms after the quorum returned`);
    await waitFor(
      "the tracker on node 1 renews again",
      () => tracker1().output.some((l) => l.includes("replica lease renewed again")),
      { timeout: 30_000, interval: 100 },
    );
    await waitFor(
      "the tracker on node 1 publishes its statuses again",
      () => tracker1().output.some((l) => l.includes("bus stall over: statuses published again")),
      { timeout: 30_000, interval: 100 },
    );
    await new Promise((r) => setTimeout(r, 2_000));
    t.diagnostic(`phases: ${phases.join(", ")}`);
    const once1 = (m: Map<string, Set<string>>) => [...m].filter(([, ids]) => ids.size !== 1).map(([k]) => k);
    assert.deepEqual(once1(firing()), [], "a check notified firing more than once");
    assert.deepEqual(once1(resolved()), [], "a check notified resolved more than once");
    assert.equal(firing().size, CHECKS);
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await Promise.all(
      procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? once(p.child, "exit") : undefined)),
    );
    server.close();
  }
});
