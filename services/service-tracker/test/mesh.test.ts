import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { defineEndpoint } from "@mirror/contracts";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { z } from "zod";
import { runTracker, silent } from "./harness.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

test("every service on the bus is found with no config, goes down when it stops answering, and malformed replies are a reason", async () => {
  const run = await runTracker(`tracker: { discoverEvery: 300ms, mesh: { missedRounds: 2 } }`, {
    nats: nats.url,
    redis: redis.url,
  });
  const other = await Bus.connect({ name: "fake-svc", url: nats.url, log: silent, registry: new Registry() });
  const echo = defineEndpoint({
    name: "echo",
    subject: "mirror.test.mesh.echo",
    request: z.object({}),
    reply: z.object({}),
  });
  await other.service({ version: "1.2.3", endpoints: [{ contract: echo, handle: async () => ({}) }] });
  // A member that answers $SRV.PING with a broken reply, and one that answers with garbage.
  const weird = run.nc.subscribe("$SRV.PING", {
    callback: (_e, m) => void m.respond(JSON.stringify({ type: "io.nats.micro.v1.ping_response", name: "weird" })),
  });
  const garbage = run.nc.subscribe("$SRV.PING", { callback: (_e, m) => void m.respond("\u0000not json") });
  try {
    await other.request(echo, {});
    const self = await run.waitState("service-tracker", "up");
    assert.equal(self.kind, "mesh");
    const up = await waitFor("fake-svc with stats", () => {
      const s = run.latest("fake-svc");
      return s?.state === "up" && (s.details.requests as number) >= 1 && s;
    });
    assert.equal((up.details.instances as { version: string }[])[0]?.version, "1.2.3");
    assert.deepEqual(
      (up.details.endpoints as { subject: string }[]).map((e) => e.subject),
      ["mirror.test.mesh.echo"],
    );

    const bad = await run.waitState("weird", "degraded");
    assert.match(bad.reason ?? "", /malformed \$SRV reply: id/);
    const metrics = await run.svc.ctx.registry.getSingleMetricAsString("mirror_tracker_mesh_bad_replies_total");
    assert.match(metrics, /kind="unreadable"\} [1-9]/);

    await other.close();
    const down = await run.waitState("fake-svc", "down");
    assert.equal(down.kind, "mesh");
    assert.match(down.reason ?? "", /no instance answered \$SRV.PING for 2 rounds/);
    // The tracker itself is still up: a down member is not a bus problem.
    assert.equal(run.latest("service-tracker")?.state, "up");
  } finally {
    weird.unsubscribe();
    garbage.unsubscribe();
    await other.close();
    await run.stop();
  }
});
