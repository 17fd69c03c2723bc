// The embedded nats-server's Go runtime settings: GOGC 50 and GOMAXPROCS 1 unless the environment
// sets them, in the process `pnpm start` actually runs.
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { freePort, tempDir, waitFor } from "@mirror/testkit";
import { embeddedNatsEnv, reachable, startEmbedded } from "../src/embedded.js";

const goSettings = (env: NodeJS.ProcessEnv) => ({ GOGC: env.GOGC, GOMAXPROCS: env.GOMAXPROCS });

test("GOGC 50 and GOMAXPROCS 1 by default; values in the environment win", () => {
  assert.deepEqual(goSettings(embeddedNatsEnv({ PATH: "/usr/bin" })), { GOGC: "50", GOMAXPROCS: "1" });
  assert.equal(embeddedNatsEnv({ PATH: "/usr/bin" }).PATH, "/usr/bin", "the rest of the environment is kept");
  assert.deepEqual(goSettings(embeddedNatsEnv({ GOGC: "100", GOMAXPROCS: "4" })), { GOGC: "100", GOMAXPROCS: "4" });
});

test("the embedded nats-server process runs with them", async () => {
  const port = await freePort();
  const child = startEmbedded("nats", port, tempDir("mirror-embedded-nats-"));
  try {
    await waitFor("the embedded nats-server listening", () => reachable("127.0.0.1", port));
    const env = readFileSync(`/proc/${child.pid}/environ`, "utf8").split("\0");
    const want = goSettings(embeddedNatsEnv());
    assert.ok(env.includes(`GOGC=${want.GOGC}`), `GOGC=${want.GOGC} in ${env.filter((e) => e.startsWith("GO"))}`);
    assert.ok(env.includes(`GOMAXPROCS=${want.GOMAXPROCS}`), `GOMAXPROCS=${want.GOMAXPROCS}`);
  } finally {
    const exited = once(child, "exit");
    child.kill();
    await exited;
  }
});
