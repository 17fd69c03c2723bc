import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig, runService } from "@mirror/kit";
import { freePort, startNats, startRedis, waitFor } from "@mirror/testkit";

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

test("a service is alive at once, ready only when bus and store answer, and recovers when they come", async () => {
  const [natsPort, redisPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const config = parseConfig("", {
    MIRROR_NATS_URL: `nats://127.0.0.1:${natsPort}`,
    MIRROR_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  });
  let started = false;
  const running = runService(
    { name: "kit-test", port: () => httpPort, start: async () => void (started = true) },
    { config, port: httpPort, logDest: { write: () => true } as never },
  );
  await waitFor("healthz", async () => (await get(httpPort, "/healthz")).status === 200);
  assert.equal((await get(httpPort, "/readyz")).status, 503);
  const nats = await startNats({ port: natsPort });
  const redis = await startRedis({ port: redisPort });
  try {
    const svc = await running;
    assert.ok(started);
    await waitFor("readyz", async () => (await get(httpPort, "/readyz")).status === 200, { timeout: 15_000 });
    const metrics = await get(httpPort, "/metrics");
    assert.match(metrics.body, /^mirror_bus_connected 1$/m);
    assert.match(metrics.body, /process_cpu_seconds_total/);
    await redis.stop();
    await waitFor("not ready without store", async () => (await get(httpPort, "/readyz")).status === 503);
    await redis.restart();
    await waitFor("ready again", async () => (await get(httpPort, "/readyz")).status === 200, { timeout: 15_000 });
    await svc.stop();
  } finally {
    await nats.dispose();
    await redis.dispose();
  }
});

test("a stop step that hangs is cut short and named: the store and HTTP server still close within the budget", async () => {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const lines: Record<string, unknown>[] = [];
  const logDest = {
    write: (s: string) => {
      lines.push(JSON.parse(s));
      return true;
    },
  };
  try {
    const config = parseConfig("", { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url });
    const svc = await runService(
      { name: "kit-hang", port: () => 0, start: async () => ({ stop: () => new Promise<void>(() => undefined) }) },
      { config, port: 0, logDest: logDest as never },
    );
    assert.equal(svc.step, "running");
    const t0 = performance.now();
    await svc.stop();
    const took = performance.now() - t0;
    assert.ok(
      took >= 1_900 && took < 4_300,
      `stop took ${Math.round(took)} ms: the hung step gets 2 s, the whole stop at most 4.3 s`,
    );
    assert.equal(svc.step, "stopped");
    const cut = lines.find((l) => l.msg === "stop step did not finish in time; going on");
    assert.equal(cut?.step, "service", "the hung step is named");
    assert.ok(lines.some((l) => l.msg === "service stopped"));
    await waitFor("the store closed after the hung step", () => svc.ctx.store.status === "end", { timeout: 2_000 });
    assert.equal(svc.ctx.http.server.listening, false, "the HTTP server was closed after the hung step");
  } finally {
    await Promise.all([nats.dispose(), redis.dispose()]);
  }
});
