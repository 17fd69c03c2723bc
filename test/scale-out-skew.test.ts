// Issue 24, bad input: a replica whose clock is skewed by minutes. Two notifiers share one
// Redis, one with its clock 5 minutes ahead, the other 5 minutes behind (10 minutes apart).
// Claims are Redis TTLs (the server's clock); due times in Redis are written and read on the
// Redis server's time (kit's serverClock), so when the fast one is killed -9 mid-run the slow
// one sends what it left (its groups, its lapsed claims) at once, not 10 minutes later, and
// every repo gets exactly one firing and one resolved notification (by webhook-id).
import assert from "node:assert/strict";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  commitAll,
  makeRepo,
  REPO_ROOT,
  type ServerHandle,
  type ServiceProcess,
  spawnService,
  startNats,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { listenablePort } from "./faults-kit/mesh.js";

const REPOS = 16;
const SKEW_MS = 5 * 60_000;

/** What the webhook received: per repo and status, the distinct webhook-ids. */
interface Seen {
  firing: Map<string, Set<string>>;
  resolved: Map<string, Set<string>>;
}

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Server;
let hookUrl = "";
const seen: Seen = { firing: new Map(), resolved: new Map() };
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  // A slow webhook (400 ms an answer), so a killed replica leaves sends it had claimed.
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const id = String(req.headers["webhook-id"] ?? "");
      const body = JSON.parse(Buffer.concat(chunks).toString() || "{}") as {
        alerts?: { status: string; labels: Record<string, string> }[];
      };
      setTimeout(() => {
        for (const a of body.alerts ?? []) {
          if (a.labels.alertname !== "repo.dirty") continue;
          const into = a.status === "firing" ? seen.firing : seen.resolved;
          const repo = a.labels.repo ?? "";
          into.set(repo, (into.get(repo) ?? new Set()).add(id));
        }
        res.writeHead(200).end("{}");
      }, 400);
    });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  const addr = hook.address();
  hookUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
});
after(async () => {
  hook?.closeAllConnections();
  await new Promise((r) => hook?.close(r));
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

test("notifiers 5 minutes ahead and 5 minutes behind: the fast one killed -9 mid-run, the slow one sends the rest at once; one firing and one resolved per repo", {
  timeout: 170_000,
}, async (t) => {
  const dir = tempDir("mirror-skew-");
  const root = join(dir, "roots");
  const repos = Array.from({ length: REPOS }, (_, i) => makeRepo(join(root, `repo-${String(i).padStart(2, "0")}`)));
  const port = { scanner: await listenablePort(), loops: await listenablePort() };
  const yaml = (notifierPort: number) => `scanner: { port: ${port.scanner}, roots: [ "${root}" ], interval: 1s }
loops: { port: ${port.loops}, rules: { repo.dirty: { after: 0s } } }
notifier:
  port: ${notifierPort}
  groupWait: 1s
  groupBy: [alertname, repo]
  repeatInterval: 24h
  backoff: 200ms
  maxBackoff: 2s
  maxAttempts: 100
  channels: [ { name: hook, type: webhook, url: "${hookUrl}", timeout: 3s } ]
`;
  const preload = pathToFileURL(join(REPO_ROOT, "test", "faults-kit", "skew-clock.mjs")).href;
  const procs: ServiceProcess[] = [];
  const start = async (service: string, label: string, skew = 0) => {
    const env: Record<string, string> = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
    if (skew) Object.assign(env, { NODE_OPTIONS: `--import=${preload}`, MIRROR_TEST_CLOCK_SKEW_MS: String(skew) });
    const p = spawnService({ dir, service, label, yaml: yaml(await listenablePort()), env });
    procs.push(p);
    return p;
  };
  const dump = () => procs.flatMap((p) => p.output.slice(-6).map((l) => `${p.label}: ${l.slice(0, 300)}`)).join("\n");
  const started = (p: ServiceProcess) => p.output.some((l) => l.includes('"msg":"service started"'));
  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} +${((Date.now() - t0) / 1000).toFixed(1)}s`);
  try {
    const fast = await start("notifier", "notifier-fast", SKEW_MS);
    const slow = await start("notifier", "notifier-slow", -SKEW_MS);
    await start("loop-detector", "loops");
    await start("scanner", "scanner");
    await waitFor("every process started", () => procs.every(started), { timeout: 90_000, interval: 200 }).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${dump()}`);
      },
    );
    for (const p of [fast, slow])
      assert.ok(
        p.output.some((l) => l.includes("differs from the Redis server's") && /"offsetMs":-?\d{6}/.test(l)),
        `${p.label} measured its offset from the Redis server\n${dump()}`,
      );
    phase("started");
    await new Promise((r) => setTimeout(r, 2_000));
    for (const r of repos) writeFileSync(join(r, "wip.txt"), "unfinished\n");
    phase("dirty");
    await waitFor("some firings", () => seen.firing.size >= 1, { timeout: 60_000, interval: 50 });
    fast.child.kill("SIGKILL");
    await once(fast.child, "exit");
    const killedAt = Date.now();
    phase(`killed the fast notifier after ${seen.firing.size} firings`);
    await waitFor("every repo's firing", () => seen.firing.size === REPOS, { timeout: 60_000, interval: 100 }).catch(
      (err: Error) => {
        throw new Error(`${err.message}: ${seen.firing.size} of ${REPOS}\n${dump()}`);
      },
    );
    const healed = Date.now() - killedAt;
    phase("all firing");
    t.diagnostic(`the slow notifier sent the last firing ${healed} ms after the fast one was killed`);
    // Well under the 5-minute skew: a claim's lease (3 s timeout + 5 s) and a group's wait.
    assert.ok(healed < 30_000, `took ${healed} ms`);
    for (const r of repos) commitAll(r, "finish");
    await waitFor("every repo's resolved", () => seen.resolved.size === REPOS, { timeout: 60_000, interval: 100 });
    phase("all resolved");
    await new Promise((r) => setTimeout(r, 1_500));
    t.diagnostic(`phases: ${phases.join(", ")}`);
    const twice = (m: Map<string, Set<string>>) => [...m].filter(([, ids]) => ids.size !== 1).map(([repo]) => repo);
    assert.deepEqual(twice(seen.firing), [], "a repo with more than one firing notification");
    assert.deepEqual(twice(seen.resolved), [], "a repo with more than one resolved notification");
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await Promise.all(
      procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? once(p.child, "exit") : undefined)),
    );
  }
});
