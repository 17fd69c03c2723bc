// Provisioning right after a NATS cluster starts (issue 24, found by its new-user scenario):
// until the nodes have elected a JetStream meta leader, the JetStream API times out or answers
// "temporarily unavailable"; provisionWhenReady waits for it instead of failing `pnpm start`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus, type IdentitySpec, isJetStreamStarting, provisionWhenReady } from "@mirror/bus";
import { raw } from "@mirror/bus/testing";
import { STREAM } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { type NatsCluster, startNatsCluster } from "@mirror/testkit";
import { Registry } from "prom-client";

const table: IdentitySpec[] = [
  {
    name: "watcher",
    publishes: [],
    requests: [],
    serves: [],
    consumes: [{ durable: "watcher", filter: "mirror.repo.>" }],
  },
];
const silent = createLogger("test", { write: () => true } as never, "silent");

let cluster: NatsCluster;
before(async () => {
  cluster = await startNatsCluster();
});
after(async () => {
  await cluster?.dispose();
});

test("provisionWhenReady waits while the cluster has no JetStream quorum, then makes the streams at 3 replicas", {
  timeout: 120_000,
}, async () => {
  await cluster.healthy();
  const [first, second, third] = cluster.nodes as [
    (typeof cluster.nodes)[0],
    (typeof cluster.nodes)[0],
    (typeof cluster.nodes)[0],
  ];
  // One node of three alone has no meta leader: what a node sees in the seconds after a cluster starts.
  await Promise.all([second.kill(), third.kill()]);
  const bus = await Bus.connect({
    name: "provisioner",
    url: first.url,
    log: silent,
    registry: new Registry(),
    manageStreams: false,
    stream: { replicas: 3 },
  });
  try {
    const waits: string[] = [];
    const done = provisionWhenReady(bus, table, {
      deadlineMs: 90_000,
      onWait: (err) => waits.push(err.message),
    });
    while (waits.length === 0) await new Promise((ok) => setTimeout(ok, 100));
    await Promise.all([second.restart(), third.restart()]);
    const r = await done;
    assert.ok(waits.length >= 1, "it waited at least once");
    assert.deepEqual(r.streams.includes(STREAM.name), true);
    assert.deepEqual(r.consumers, ["watcher/watcher"]);
    const info = await (await raw(bus).manager()).streams.info(STREAM.name);
    assert.equal(info.config.num_replicas, 3);
  } finally {
    await bus.close();
  }
});

test("isJetStreamStarting: only the errors of a forming cluster are waited for", () => {
  assert.equal(isJetStreamStarting(new Error("permissions violation")), false);
  assert.equal(isJetStreamStarting(undefined), false);
});
