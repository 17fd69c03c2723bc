// `pnpm start` with nothing listening starts the embedded nats-server and redis-server; a kill -9
// of either must not leave the mesh without its bus or store: pnpm start restarts it on the
// same port and data, the services reconnect, and Ctrl-C still stops everything.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { repoKey, STREAM } from "@mirror/contracts";
import { descendants, linesOf, makeRepo, startMesh, tempDir, waitFor } from "@mirror/testkit";
import { assertCleanStop, listenablePort } from "./faults-kit/mesh.js";
import { openProbe } from "./faults-kit/probe.js";
import { lastOf } from "./faults-kit/settle.js";

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
};

test("pnpm start restarts its embedded nats-server and redis-server after a kill -9", async (t) => {
  const [natsPort, redisPort, scannerPort] = [await listenablePort(), await listenablePort(), await listenablePort()];
  const repo = makeRepo(join(tempDir("mirror-embedded-"), "repo"));
  const mesh = startMesh(
    `bus: { url: "nats://127.0.0.1:${natsPort}" }
store: { url: "redis://127.0.0.1:${redisPort}" }
scanner: { port: ${scannerPort}, roots: [ "${join(repo, "..")}" ], interval: 1s }
`,
    // Empty overrides: the URLs of this mirror.yaml, where nothing listens yet, are what pnpm start sees.
    { names: ["scanner"], env: { MIRROR_HTTP_HOST: "127.0.0.1", MIRROR_NATS_URL: "", MIRROR_REDIS_URL: "" } },
  );
  // redis-server retitles itself "redis-server 127.0.0.1:PORT"; nats-server keeps its arguments.
  const server = (bin: string, port: number) => () =>
    mesh.child.pid !== undefined &&
    descendants(mesh.child.pid).find(
      (p) => cmdline(p).startsWith(`${bin} `) && new RegExp(`[ :]${port}( |$)`).test(cmdline(p)),
    );
  let stopped: number | null = null;
  try {
    await mesh.waitForLine(/^scanner\s*\| .*"msg":"service started"/, 180_000);
    for (const [bin, port, back] of [
      ["nats-server", natsPort, /"msg":"bus reconnected"/],
      ["redis-server", redisPort, /"msg":"store reconnected"/],
    ] as const) {
      const pid = await waitFor(`the embedded ${bin}`, server(bin, port));
      const reconnectedBefore = linesOf(mesh, "scanner", back).length;
      process.kill(pid, "SIGKILL");
      await mesh.waitForLine(new RegExp(`^mirror: the embedded ${bin} exited \\(SIGKILL\\); restarting it`), 30_000);
      await waitFor(
        `${bin} back`,
        () => {
          const p = server(bin, port)();
          return p && p !== pid;
        },
        { timeout: 30_000 },
      );
      await waitFor(`the scanner back on ${bin}`, () => linesOf(mesh, "scanner", back).length > reconnectedBefore, {
        timeout: 60_000,
      });
    }
    // The bus works on the restarted server: a change reaches the stream.
    writeFileSync(join(repo, "wip.txt"), "x\n");
    // Identity is on by default: the embedded server refuses anonymous clients, so the probe is the operator.
    const probe = await openProbe(`nats://127.0.0.1:${natsPort}`, {
      seed: readFileSync(join(dirname(mesh.configFile), ".mirror", "identity", "operator.nk"), "utf8"),
    });
    try {
      await waitFor(
        "a dirty snapshot in the stream",
        async () =>
          ((await lastOf(probe, `mirror.repo.snapshot.${repoKey(repo)}`)) as { untracked?: number } | undefined)
            ?.untracked === 1,
        { timeout: 60_000, interval: 250 },
      );
      assert.ok((await probe.jsm.streams.info(STREAM.name)).state.messages > 0);
    } finally {
      await probe.close();
    }
    t.diagnostic(`figures ${JSON.stringify({ faults: 2, restarted: ["nats-server", "redis-server"] })}`);
  } finally {
    stopped = await mesh.stop();
  }
  assertCleanStop(mesh, stopped, ["scanner"]);
  assert.equal(
    server("nats-server", natsPort)() || server("redis-server", redisPort)() || undefined,
    undefined,
    "no embedded server is left running",
  );
});
