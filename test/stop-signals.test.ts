// `pnpm start` under a service manager: SIGTERM to the pnpm process alone (systemd's main PID,
// `kill <pid>`) stops the whole mesh cleanly and exits 0 with no `ELIFECYCLE` line, and nothing
// is left running (the supervisor is pnpm's own child: the start script execs node).
import assert from "node:assert/strict";
import { test } from "node:test";
import { startMesh, waitFor } from "@mirror/testkit";
import { listenablePort } from "./faults-kit/mesh.js";

test("SIGTERM to the pnpm process alone: a clean stop, exit 0, no error line, no orphan", {
  timeout: 180_000,
}, async () => {
  const [natsPort, redisPort, modelPort] = [await listenablePort(), await listenablePort(), await listenablePort()];
  const mesh = startMesh(
    `bus: { url: "nats://127.0.0.1:${natsPort}" }\nstore: { url: "redis://127.0.0.1:${redisPort}" }\nmodel: { port: ${modelPort} }\n`,
    {
      names: ["model-rules"],
      env: { MIRROR_NATS_URL: "", MIRROR_REDIS_URL: "" },
    },
  );
  try {
    await mesh.waitForLine(/^model-rules\s*\| .*"msg":"service started"/, 120_000);
    process.kill(mesh.child.pid as number, "SIGTERM");
    const code = await mesh.exited;
    assert.equal(code, 0, mesh.output.slice(-10).join("\n"));
    assert.ok(mesh.output.includes("mirror: stopped"), "the supervisor stopped the mesh");
    assert.deepEqual(
      mesh.output.filter((l) => /ELIFECYCLE|Command failed/.test(l)),
      [],
    );
    // Nothing serves the model port, NATS or Redis any more: the services and embedded servers went too.
    for (const port of [modelPort, natsPort, redisPort]) {
      await waitFor(
        `port ${port} closed`,
        async () =>
          !(await fetch(`http://127.0.0.1:${port}/`).then(
            () => true,
            (e: Error & { cause?: { code?: string } }) => e.cause?.code !== "ECONNREFUSED",
          )),
        { timeout: 10_000 },
      );
    }
  } finally {
    await mesh.stop();
  }
});
