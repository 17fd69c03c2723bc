// The cluster kit itself: three routed nodes with a JetStream meta leader, one killed with -9 and
// restarted on the same ports, rejoining the routes.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startNatsCluster } from "../src/index.js";
import { waitFor } from "../src/wait.js";

const routes = async (monitorPort: number): Promise<number> => {
  const res = await fetch(`http://127.0.0.1:${monitorPort}/routez`);
  return ((await res.json()) as { num_routes: number }).num_routes;
};

test("startNatsCluster: 3 routed nodes, kill -9 and restart of one", async () => {
  const cluster = await startNatsCluster();
  after(() => cluster.dispose());
  assert.equal(cluster.nodes.length, 3);
  assert.equal(cluster.url.split(",").length, 3);
  for (const n of cluster.nodes) assert.ok((await routes(n.monitorPort)) >= 2, `${n.name} routes to both others`);
  const jsz = (await (await fetch(`http://127.0.0.1:${cluster.nodes[0]?.monitorPort}/jsz`)).json()) as {
    meta_cluster?: { leader?: string; cluster_size?: number };
  };
  assert.equal(jsz.meta_cluster?.cluster_size, 3);
  assert.match(jsz.meta_cluster?.leader ?? "", /^n[123]$/);
  const victim = cluster.nodes[1];
  assert.ok(victim);
  await victim.kill();
  assert.equal(victim.running, false);
  await waitFor("the others see one route gone", async () => (await routes(cluster.nodes[0]?.monitorPort ?? 0)) === 1, {
    timeout: 10_000,
  });
  await cluster.healthy();
  await victim.restart();
  await cluster.healthy();
  await waitFor("the restarted node routed again", async () => (await routes(victim.monitorPort)) >= 2, {
    timeout: 10_000,
  });
  assert.equal(cluster.nodeByPort(victim.port), victim);
});
