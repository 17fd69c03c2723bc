// Fault (5) of issue 10 and its backpressure clause: the loop-detector is paused (SIGSTOP) while
// 10,000 repo snapshots pile up on its durable consumer, then resumed. The backlog drains to
// zero lag, every loop opens once and is notified once, /healthz keeps answering while it
// drains, and memory stays bounded (in-flight work per consumer is bounded, not the backlog).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { nkeySigner, type Signer, signHeaders } from "@mirror/bus";
import { repoKey, repoSnapshot, toCeHeaders } from "@mirror/contracts";
import {
  type Mesh,
  type Receiver,
  rssBytes,
  type ServerHandle,
  servicePid,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { lostAndDuplicated, tally } from "./faults-kit/hook.js";
import { assertCleanStop, meshPorts, portSections, runMesh, waitStarted } from "./faults-kit/mesh.js";
import { openProbe, type Probe, waitLagZero } from "./faults-kit/probe.js";

const REPOS = 100;
// 10,000 in CI; MIRROR_BACKLOG_EVENTS=100000 runs the 100,000-event backpressure figure by hand.
const PER_REPO = Math.max(1, Math.round(Number(process.env.MIRROR_BACKLOG_EVENTS ?? 10_000) / REPOS));
const SERVICES = ["loop-detector", "notifier"] as const;
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

/** The k-th snapshot of a repo that is dirty from the start and gets dirtier (a valid scanner event). */
function snapshot(path: string, k: number, base: number) {
  const at = new Date(base + k).toISOString();
  return {
    repoKey: repoKey(path),
    path,
    observedAt: at,
    seq: base + k,
    kind: "repo",
    branch: "main",
    detached: false,
    head: { sha: "0".repeat(40), committedAt: new Date(base - 3_600_000).toISOString() },
    upstream: null,
    ahead: null,
    behind: null,
    staged: 0,
    unstaged: k + 1,
    untracked: 0,
    untrackedCapped: false,
    conflicted: 0,
    dirtySince: new Date(base - 60_000).toISOString(),
    stashes: { count: 0, oldestAt: null },
    branches: [],
    defaultBranch: "main",
    operation: null,
    operationSince: null,
    hasRemote: true,
    error: null,
  };
}

/** Publishes PER_REPO snapshots of every repo, interleaved, as the scanner would (stable ids). */
async function publishBacklog(paths: string[], base: number, signer: Signer): Promise<number> {
  let n = 0;
  for (let k = 0; k < PER_REPO; k++) {
    await Promise.all(
      paths.map(async (path) => {
        const data = snapshot(path, k, base);
        const id = `repo-snapshot-${data.repoKey}-${data.seq}`;
        const headers: Record<string, string> = toCeHeaders({
          id,
          source: "scanner",
          type: repoSnapshot.type,
          time: data.observedAt,
          subject: data.repoKey,
        });
        const payload = JSON.stringify(data);
        // Signed with the scanner's key, as the scanner signs: identity is on in pnpm start.
        signHeaders(signer, headers, repoSnapshot.subject(data.repoKey), new TextEncoder().encode(payload));
        await probe.publish(repoSnapshot.subject(data.repoKey), payload, { id, headers });
        n++;
      }),
    );
  }
  return n;
}

test(`a ${(REPOS * PER_REPO).toLocaleString("en")}-event backlog behind a paused loop-detector drains: loops opened once, notified once, health answered, memory bounded`, async (t) => {
  const root = tempDir("mirror-backlog-");
  const paths = Array.from({ length: REPOS }, (_, i) => join(root, `repo-${i}`));
  const ports = await meshPorts();
  const p = portSections(ports);
  const mesh = runMesh(
    `scanner: { roots: [ "${root}" ] }
loops: { ${p.loops}, triage: false, rules: { repo.dirty: { after: 0s } } }
notifier: { ${p.notifier}, groupWait: 1s, groupBy: [alertname, repo], repeatInterval: 24h, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
`,
    nats,
    redis,
    SERVICES,
  );
  let stopped: number | null = null;
  try {
    await waitStarted(mesh, SERVICES);
    const pid = await waitFor("loop-detector pid", () => servicePid(mesh, "loop-detector"));
    const rssBefore = rssBytes(pid) ?? 0;
    process.kill(pid, "SIGSTOP");
    let published: number;
    try {
      const signer = nkeySigner(readFileSync(join(mesh.dataDir, "identity", "scanner.nk"), "utf8").trim(), "scanner");
      published = await publishBacklog(paths, Date.now(), signer);
      const lag = await probe.lag();
      assert.ok((lag["loop-detector-repo"] ?? 0) >= REPOS * PER_REPO, `backlog built: ${JSON.stringify(lag)}`);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const resumed = Date.now();
    const watch = watchHealth(ports["loop-detector"], pid);
    await waitLagZero(probe, 240_000 * Math.max(1, PER_REPO / 100));
    const drainMs = Date.now() - resumed;
    await waitFor("a notification for every repo", () => tally(hook.requests, "repo.dirty").firing.size >= REPOS, {
      timeout: 120_000,
      interval: 250,
    });
    await waitLagZero(probe, 60_000);
    const health = await watch.stop();
    // Deliveries beyond one per stored message are redeliveries (ack wait ran out, or a retry).
    const info = await probe.jsm.consumers.info("MIRROR", "loop-detector-repo");
    const redeliveries = info.delivered.consumer_seq - published;
    const opened = await probe.read("MIRROR", "mirror.loop.opened.>");
    const { lost, duplicated } = lostAndDuplicated(tally(hook.requests, "repo.dirty"), paths);
    const figures = {
      events: published,
      redeliveries,
      drainMs,
      loopsOpened: opened.length,
      lost: lost.length,
      duplicated: duplicated.length,
      healthChecks: health.count,
      healthFailures: health.failures,
      healthSlowestMs: health.slowestMs,
      rssBeforeMb: mb(rssBefore),
      rssPeakMb: mb(health.peakRss),
    };
    t.diagnostic(`figures ${JSON.stringify(figures)}`);
    assert.equal(opened.length, REPOS, "each loop opened exactly once");
    assert.equal(new Set(opened.map((m) => m.subject)).size, REPOS);
    assert.deepEqual([lost, duplicated], [[], []]);
    assert.equal(health.failures, 0, "/healthz answered throughout the drain");
    assert.ok(health.slowestMs < 5_000, `/healthz stayed responsive (slowest ${health.slowestMs} ms)`);
    assert.ok(
      health.peakRss < rssBefore + 256 * 1024 * 1024,
      `memory bounded: ${mb(rssBefore)} MB before, ${mb(health.peakRss)} MB peak`,
    );
  } finally {
    stopped = await terminate(mesh);
  }
  assertCleanStop(mesh, stopped, SERVICES);
});

/** SIGTERM to the whole process group (as systemd or docker stop would), then wait for "mirror: stopped". */
async function terminate(mesh: Mesh): Promise<number | null> {
  if (mesh.child.pid && mesh.child.exitCode === null) process.kill(-mesh.child.pid, "SIGTERM");
  await mesh.waitForLine(/^mirror: stopped$/, 30_000).catch(() => mesh.stop());
  return mesh.exited;
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Polls /healthz and the process's memory until stopped: how many answered, the slowest, the peak RSS. */
function watchHealth(port: number, pid: number) {
  const stats = { count: 0, failures: 0, slowestMs: 0, peakRss: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) }).then(
        (r) => r.ok,
        () => false,
      );
      stats.count++;
      if (!ok) stats.failures++;
      stats.slowestMs = Math.max(stats.slowestMs, Date.now() - started);
      stats.peakRss = Math.max(stats.peakRss, rssBytes(pid) ?? 0);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return stats;
    },
  };
}
