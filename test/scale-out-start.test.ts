// Issue 24's infrastructure through the real `pnpm start`: a 3-node NATS cluster started from the
// generated accounts.conf (`bus.url` listing every node, `bus.replicas: 3`), Redis behind 3
// sentinels with the generated users.acl (`store.sentinels`), and MIRROR_PORT_OFFSET. The operator
// provisions the streams at 3 replicas; the service listens at its port + the offset, logs in to
// the master the sentinels name with its own Redis user, and is ready again after kill -9 of its
// Redis master and of a NATS node.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DLQ_STREAM, STREAM } from "@mirror/contracts";
import {
  freePort,
  makeRepo,
  type NatsCluster,
  REPO_ROOT,
  type RedisSentinelSet,
  startMesh,
  startNatsCluster,
  startRedisSentinel,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { jetstreamManager } from "@nats-io/jetstream";
import { nkeyAuthenticator } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

let dir: string;
let cluster: NatsCluster;
let rs: RedisSentinelSet;

before(async () => {
  dir = join(tempDir("mirror-scale-id-"), "identity");
  const init = spawnSync("pnpm", ["mirror", "identity", "init", "--out", dir], { cwd: REPO_ROOT, encoding: "utf8" });
  assert.equal(init.status, 0, init.stderr);
  // Each kept as soon as it is up: if the other fails to start, after() still stops this one.
  await Promise.all([
    startNatsCluster({ config: readFileSync(join(dir, "accounts.conf"), "utf8") }).then((c) => void (cluster = c)),
    startRedisSentinel({ acl: readFileSync(join(dir, "users.acl"), "utf8") }).then((r) => void (rs = r)),
  ]);
});
after(async () => {
  await Promise.all([cluster?.dispose(), rs?.dispose()]);
});

const ready = async (port: number) => {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1_000) });
    return res.status === 200;
  } catch {
    return false;
  }
};

test("pnpm start on a NATS cluster and Redis Sentinel, with MIRROR_PORT_OFFSET: streams at 3 replicas, ready again after kill -9 of the Redis master and a NATS node", {
  timeout: 240_000,
}, async (t) => {
  const root = tempDir("mirror-scale-roots-");
  makeRepo(join(root, "repo"));
  const [a, b] = [await freePort(), await freePort()].sort((x, y) => x - y) as [number, number];
  const mesh = startMesh(
    `bus: { replicas: 3 }
store: { sentinels: [${rs.sentinelAddrs.map((s) => `"${s}"`).join(", ")}], name: ${rs.name} }
scanner: { roots: [ "${root}" ], interval: 1s, port: ${a} }
`,
    {
      names: ["scanner"],
      env: {
        MIRROR_NATS_URL: cluster.url,
        MIRROR_IDENTITY_DIR: dir,
        MIRROR_HTTP_HOST: "127.0.0.1",
        MIRROR_PORT_OFFSET: String(b - a),
      },
    },
  );
  after(() => mesh.stop());
  try {
    await mesh.waitForLine(/provisioned MIRROR, MIRROR_DLQ and \d+ durable consumers as operator/, 60_000);
    await waitFor("the scanner ready at its port + MIRROR_PORT_OFFSET", () => ready(b), {
      timeout: 60_000,
      interval: 200,
    });
    assert.equal(await ready(a), false, "nothing on the unshifted port");

    const operator = await connect({
      servers: cluster.url.split(","),
      name: "operator",
      authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(join(dir, "operator.nk"), "utf8").trim())),
      inboxPrefix: "_INBOX_operator",
    });
    after(() => operator.close());
    const jsm = await jetstreamManager(operator);
    for (const s of [STREAM.name, DLQ_STREAM.name])
      assert.equal((await jsm.streams.info(s)).config.num_replicas, 3, `${s} provisioned at 3 replicas`);

    const old = await rs.masterPort();
    const t0 = Date.now();
    await rs.killMaster();
    await rs.failedOver(old);
    await waitFor("the scanner ready after the Redis failover", () => ready(b), {
      timeout: 30_000,
      interval: 100,
    }).catch((err) => {
      throw new Error(
        `${err.message}\n${mesh.output
          .filter((l) => /store|redis|sentinel/i.test(l))
          .slice(-20)
          .join("\n")}`,
      );
    });
    const redisMs = Date.now() - t0;
    assert.ok(
      mesh.output.some((l) => /store reconnected/.test(l)),
      "the scanner's store reconnected to the promoted master",
    );

    const t1 = Date.now();
    await cluster.nodes[0]?.kill();
    await waitFor("the scanner ready with one NATS node gone", () => ready(b), { timeout: 30_000, interval: 100 });
    t.diagnostic(
      `Redis master killed: ready again after ${redisMs} ms; NATS node n1 killed: ready ${Date.now() - t1} ms after`,
    );
  } finally {
    assert.equal(await mesh.stop(), 0, "Ctrl-C stops it cleanly");
  }
});
