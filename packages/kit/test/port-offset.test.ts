// MIRROR_PORT_OFFSET (issue 24): a second copy of a service on the same machine, with the same
// config, listens on its port + N and both answer; a bad offset is a config error (exit 2).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { isConfigFailure, ownUrlWithOffset, parseConfig, portOffset, runService, withPortOffset } from "@mirror/kit";
import { freePort, type ServerHandle, startNats, startRedis } from "@mirror/testkit";

test("MIRROR_PORT_OFFSET: two copies of a service with the same config port both listen, the second at port + N", {
  timeout: 60_000,
}, async () => {
  const [nats, redis]: ServerHandle[] = await Promise.all([startNats(), startRedis()]);
  after(() => Promise.all([nats?.dispose(), redis?.dispose()]));
  // Two free ports a known distance apart: the config port and the one the offset makes of it.
  const [a, b] = [await freePort(), await freePort()].sort((x, y) => x - y) as [number, number];
  const offset = b - a;
  const env = { MIRROR_NATS_URL: nats?.url, MIRROR_REDIS_URL: redis?.url };
  const config = parseConfig("", env);
  const spec = { name: "offset-test", port: () => a, start: async () => undefined };
  const quiet = { write: () => true } as never;
  const first = await runService(spec, { config, env: { ...env }, logDest: quiet, httpToken: "t".repeat(16) });
  after(() => first.stop());
  const second = await runService(spec, {
    config,
    env: { ...env, MIRROR_PORT_OFFSET: String(offset) },
    logDest: quiet,
    httpToken: "t".repeat(16),
  });
  after(() => second.stop());
  assert.equal(first.port, a);
  assert.equal(second.port, a + offset);
  for (const port of [first.port, second.port])
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
});

test("MIRROR_PORT_OFFSET: 0 and unset shift nothing, port 0 stays 0, a bad value or a port past 65535 is a config error", () => {
  assert.equal(withPortOffset(9100, {}), 9100);
  assert.equal(withPortOffset(9100, { MIRROR_PORT_OFFSET: "0" }), 9100);
  assert.equal(withPortOffset(9100, { MIRROR_PORT_OFFSET: "20" }), 9120);
  assert.equal(withPortOffset(0, { MIRROR_PORT_OFFSET: "20" }), 0);
  assert.equal(portOffset({ MIRROR_PORT_OFFSET: " 7 " }), 7);
  for (const bad of ["-1", "1.5", "x", "70000"]) {
    assert.throws(
      () => portOffset({ MIRROR_PORT_OFFSET: bad }),
      (err) => isConfigFailure(err) && /MIRROR_PORT_OFFSET/.test((err as Error).message),
      bad,
    );
  }
  assert.throws(
    () => withPortOffset(65_530, { MIRROR_PORT_OFFSET: "10" }),
    (err) => isConfigFailure(err) && /65540/.test((err as Error).message),
  );
});

test("ownUrlWithOffset: a loopback URL at this copy's own port moves with the offset; a proxy's or another port's does not", () => {
  const env = { MIRROR_PORT_OFFSET: "20" };
  assert.equal(ownUrlWithOffset("http://127.0.0.1:9100", 9100, env), "http://127.0.0.1:9120");
  assert.equal(ownUrlWithOffset("http://localhost:9100/", 9100, env), "http://localhost:9120/");
  assert.equal(ownUrlWithOffset("http://127.0.0.1:9100/mirror", 9100, env), "http://127.0.0.1:9120/mirror");
  assert.equal(ownUrlWithOffset("https://mirror.home.example", 9100, env), "https://mirror.home.example");
  assert.equal(ownUrlWithOffset("http://127.0.0.1:8080", 9100, env), "http://127.0.0.1:8080");
  assert.equal(ownUrlWithOffset("http://127.0.0.1:9100", 9100, {}), "http://127.0.0.1:9100");
});
