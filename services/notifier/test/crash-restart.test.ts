import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir, waitFor } from "@mirror/testkit";
import { Harness, makeLoop } from "./harness.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));

/** The notifier as its own process, exactly as `pnpm start` runs it. */
function spawnNotifier(h: Harness, config: string): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "services/notifier/src/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      MIRROR_CONFIG: config,
      MIRROR_NATS_URL: h.nats.url,
      MIRROR_REDIS_URL: h.redis.url,
      MIRROR_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  // Logs are read only when a test run asks for them (TEST_LOG_LEVEL), e.g. to see why a wait ran out.
  if (process.env.TEST_LOG_LEVEL) child.stdout?.pipe(process.stderr);
  else child.stdout?.resume();
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

interface Am {
  status: string;
  alerts: { status: string; labels: Record<string, string> }[];
}

const hasResolved = (m: Am) => m.alerts.some((a) => a.status === "resolved");

test("kill -9 while grouping and while retrying: every message arrives exactly once", async () => {
  const h = await Harness.start();
  const dir = tempDir();
  const config = join(dir, "mirror.yaml");
  writeFileSync(
    config,
    `notifier: { port: 0, groupWait: 4s, groupInterval: 1s, backoff: 200ms, channels: [ { name: hook, type: webhook, url: "${h.receiver.url}", timeout: 2s } ] }\n`,
  );
  const redis = h.store();
  let child = spawnNotifier(h, config);
  try {
    const loops = ["/a", "/b", "/c"].map((repo) => makeLoop({ repo }));
    for (const l of loops) await h.publish(l);
    await waitFor("three loops recorded", async () => (await redis.keys("mirror:notifier:loop:*")).length === 3, {
      timeout: 60_000,
    });
    await kill9(child);
    assert.equal(h.receiver.requests.length, 0, "killed inside groupWait");
    child = spawnNotifier(h, config);
    const first = await h.receiver.waitFor("the grouped firing message", () => true, 60_000);
    assert.equal((first.json as Am).alerts.length, 3);

    let failures = 0;
    h.receiver.respond(() => {
      failures++;
      return 500;
    });
    await h.publish({ ...loops[0]!, status: "closed", rev: 2, closedAt: "2026-01-01T02:00:00.000Z" });
    await waitFor(
      "a failed attempt recorded in Redis",
      async () => {
        const ids = await redis.zrange("deliveries:due", "0", "-1");
        for (const id of ids) {
          const raw = await redis.get(`delivery:${id}`);
          const d = raw ? (JSON.parse(raw) as { attempt: number; state: string; message: Am }) : undefined;
          if (d && hasResolved(d.message) && d.state === "pending" && d.attempt >= 1) return true;
        }
        return false;
      },
      { timeout: 60_000 },
    );
    await kill9(child);
    assert.ok(failures >= 1);
    h.receiver.respond(() => 200);
    child = spawnNotifier(h, config);
    const resolved = await h.receiver.waitFor(
      "the message with the resolution",
      (r) => hasResolved(r.json as Am),
      60_000,
    );
    // Alertmanager semantics: the group still fires (b, c), and a is listed as resolved.
    assert.deepEqual((resolved.json as Am).alerts.map((a) => `${a.labels.repo}:${a.status}`).sort(), [
      "/a:resolved",
      "/b:firing",
      "/c:firing",
    ]);
    await waitFor("nothing owed any more", async () => (await redis.zcard("deliveries:due")) === 0, {
      timeout: 30_000,
    });
    assert.equal(h.receiver.requests.length, 2, "each message exactly once");
    assert.notEqual(first.headers["webhook-id"], resolved.headers["webhook-id"]);
  } finally {
    await kill9(child);
    redis.disconnect();
    await h.stop();
  }
});
