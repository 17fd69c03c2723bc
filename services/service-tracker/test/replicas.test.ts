import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import {
  freePort,
  type ServerHandle,
  type ServiceProcess,
  spawnService,
  startNats,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";

const CHECKS = 24;
const INTERVAL = 2_000;

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

/** A real tracker process (kill -9 is a real crash: no leaving, no cleanup) and its HTTP port. */
type Replica = ServiceProcess & { port: number };

function startReplica(dir: string, yaml: string, port: number): Replica {
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const p = spawnService({
    dir,
    service: "service-tracker",
    label: `mirror-${port}`,
    yaml: `${yaml}\n  port: ${port}\n`,
    env,
  });
  return { ...p, port };
}

async function probesTotal(r: Replica): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${r.port}/metrics`).then(
    (res) => res.text(),
    () => "",
  );
  let sum = 0;
  for (const m of text.matchAll(/^mirror_tracker_probes_total\{[^}]*\}\s+(\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

test("two tracker replicas: each check runs on one of them, and when one is killed the other runs all of them within two intervals", {
  timeout: 120_000,
}, async () => {
  // Every probe lands here, named by its path: when each check ran, whoever ran it.
  const hits = new Map<string, number[]>();
  const server = createServer((req, res) => {
    const name = (req.url ?? "").slice(1);
    hits.set(name, [...(hits.get(name) ?? []), Date.now()]);
    res.end("ok");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const httpPort = (server.address() as { port: number }).port;
  const names = Array.from({ length: CHECKS }, (_, i) => `svc-${i}`);
  const yaml = [
    "tracker:",
    "  mesh: { enabled: false }",
    "  coalesce: 0s",
    "  checks:",
    ...names.map(
      (n) =>
        `    - { name: ${n}, interval: ${INTERVAL}ms, http: { url: "http://127.0.0.1:${httpPort}/${n}", timeout: 1s } }`,
    ),
  ].join("\n");
  const dir = tempDir("mirror-replicas-");
  const a = startReplica(dir, yaml, await freePort());
  const b = startReplica(dir, yaml, await freePort());
  try {
    const started = (r: Replica) => r.output.some((l) => l.includes('"msg":"service started"'));
    await waitFor("both replicas started", () => started(a) && started(b), { timeout: 60_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${[...a.output, ...b.output].slice(-30).join("\n")}`);
    });
    await waitFor(
      "both replicas see each other",
      () =>
        [a, b].every((r) =>
          r.output.some((l) => l.includes('"msg":"replicas changed"') && /"members":\["[^"]+","[^"]+"\]/.test(l)),
        ),
      { timeout: 20_000 },
    );
    // Past the newcomer's settling (one lease, 1.2 s): a steady window of three intervals.
    await new Promise((r) => setTimeout(r, INTERVAL));
    const [a0, b0] = [await probesTotal(a), await probesTotal(b)];
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 3 * INTERVAL));
    const to = Date.now();
    const [a1, b1] = [await probesTotal(a), await probesTotal(b)];
    assert.ok(a1 > a0 && b1 > b0, `both replicas probe: a ${a1 - a0}, b ${b1 - b0}`);
    const steady = names.map((n) => (hits.get(n) ?? []).filter((t) => t >= from && t < to));
    const total = steady.reduce((s, h) => s + h.length, 0);
    assert.equal(a1 - a0 + (b1 - b0) >= total - CHECKS, true);
    for (const [i, h] of steady.entries()) {
      // Three intervals: three runs (four at the window's edges), never two in one slot.
      assert.ok(h.length >= 2 && h.length <= 4, `${names[i]} ran ${h.length} times in 3 intervals`);
      for (let j = 1; j < h.length; j++)
        assert.ok((h[j] as number) - (h[j - 1] as number) > INTERVAL / 2, `${names[i]} ran twice in one slot`);
    }
    assert.ok(Math.abs(a1 - a0 - (b1 - b0)) < total * 0.6, `shares are roughly even: a ${a1 - a0}, b ${b1 - b0}`);

    a.child.kill("SIGKILL");
    const killedAt = Date.now();
    await once(a.child, "exit");
    // Three more intervals after the kill: every check ran, none waited more than two intervals.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL + 500));
    for (const n of names) {
      const h = hits.get(n) ?? [];
      const before = h.filter((t) => t < killedAt).at(-1) as number;
      const afterKill = h.filter((t) => t >= killedAt);
      assert.ok(afterKill.length >= 2, `${n} ran ${afterKill.length} times after the kill`);
      const gaps = [before, ...afterKill].slice(1).map((t, j) => t - ([before, ...afterKill][j] as number));
      const worst = Math.max(...gaps);
      assert.ok(worst <= 2 * INTERVAL + 250, `${n} went ${worst} ms unrun around the kill`);
      // Back on the grid after the takeover (and its catch-up run): no slot runs twice.
      const late = afterKill.filter((t) => t > killedAt + 2 * INTERVAL);
      for (let j = 1; j < late.length; j++)
        assert.ok(
          (late[j] as number) - (late[j - 1] as number) > INTERVAL / 2,
          `${n} ran twice in one slot after the takeover`,
        );
    }
  } finally {
    for (const r of [a, b]) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL");
    server.close();
  }
});

test("after a bus stall the tracker publishes its statuses again, with new ids and the same state, unchanged checks included", {
  timeout: 120_000,
}, async () => {
  const server = createServer((_req, res) => res.end("ok"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const httpPort = (server.address() as { port: number }).port;
  const yaml = [
    "tracker:",
    "  mesh: { enabled: false }",
    "  coalesce: 0s",
    "  checks:",
    `    - { name: web, interval: 500ms, http: { url: "http://127.0.0.1:${httpPort}/", timeout: 1s } }`,
  ].join("\n");
  const r = startReplica(tempDir("mirror-republish-"), yaml, await freePort());
  const nc = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  const last = async () => {
    const m = await (await jetstreamManager(nc)).streams.getMessage("MIRROR", {
      last_by_subj: "mirror.service.status.web",
    });
    if (!m) throw new Error("no status of web stored");
    const s = JSON.parse(new TextDecoder().decode(m.data)) as { state: string; seq: number };
    return { id: m.header.get("Nats-Msg-Id"), state: s.state, seq: s.seq };
  };
  try {
    await waitFor("the check's up status stored", async () => (await last().catch(() => null))?.state === "up", {
      timeout: 60_000,
      interval: 200,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${r.output.slice(-20).join("\n")}`);
    });
    const before = await last();
    // The check stays up: nothing would publish it again before resyncEvery (5 minutes).
    await nats.kill();
    await waitFor("the lease paused", () => r.output.some((l) => l.includes("replica lease not renewed: its output")), {
      timeout: 30_000,
      interval: 100,
    });
    await nats.restart();
    await waitFor("statuses published again", () => r.output.some((l) => l.includes("statuses published again")), {
      timeout: 30_000,
      interval: 100,
    });
    assert.ok(r.output.some((l) => l.includes("statuses published again") && l.includes('"statuses":1')));
    await waitFor("a new status of the check stored", async () => (await last().catch(() => before)).id !== before.id, {
      timeout: 30_000,
      interval: 200,
    });
    const after = await last();
    assert.equal(after.state, "up");
    assert.ok(after.seq > before.seq, `a newer seq: ${before.seq} -> ${after.seq}`);
  } finally {
    await nc.close();
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL");
    server.close();
  }
});
