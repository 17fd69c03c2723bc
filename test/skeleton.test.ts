// The foundation's acceptance, end to end through real processes: `pnpm start` with the exact
// mirror.yaml of the issue; a dirty repo reaches the webhook as firing, a clean one never does,
// and a commit brings resolved.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  commitAll,
  freePort,
  makeRepo,
  type Receiver,
  type ServerHandle,
  startMesh,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
} from "@mirror/testkit";

type Alert = { status: string; labels: Record<string, string>; fingerprint: string };
type Hook = { status: string; alerts: Alert[] };

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;

before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose(), hook.close()]);
});

const alertsOf = (json: unknown) => ((json as Hook).alerts ?? []) as Alert[];

test("a dirty repo becomes a firing webhook, a commit resolves it, a clean repo stays quiet", async () => {
  const root = tempDir("mirror-roots-");
  const dirty = makeRepo(join(root, "dirty"));
  const clean = makeRepo(join(root, "clean"));
  writeFileSync(join(dirty, "notes.txt"), "unfinished\n");
  // The exact mirror.yaml, plus free ports so this test never collides with another mesh.
  const [p1, p2, p3, p4, p5] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  const mesh = startMesh(
    `scanner: { roots: [ "${root}" ], interval: 1s, port: ${p1} }
loops: { rules: { repo.dirty: { after: 0s } }, port: ${p3} }
notifier: { groupWait: 0s, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ], port: ${p4} }
tracker: { port: ${p2} }
model: { port: ${p5} }
`,
    { env: { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" } },
  );
  try {
    for (const name of ["scanner", "loop-detector", "notifier"]) {
      await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 120_000);
    }
    const firing = await hook.waitFor(
      "firing repo.dirty for the dirty repo",
      (r) =>
        alertsOf(r.json).some(
          (a) => a.status === "firing" && a.labels.alertname === "repo.dirty" && a.labels.repo === dirty,
        ),
      30_000,
    );
    assert.equal((firing.json as Hook).status, "firing");
    commitAll(dirty, "finish the work");
    const resolved = await hook.waitFor(
      "resolved repo.dirty for the dirty repo",
      (r) => alertsOf(r.json).some((a) => a.status === "resolved" && a.labels.repo === dirty),
      30_000,
    );
    const alert = alertsOf(resolved.json).find((a) => a.labels.repo === dirty);
    assert.equal(alert?.fingerprint, alertsOf(firing.json).find((a) => a.labels.repo === dirty)?.fingerprint);
    assert.ok(
      !hook.requests.some((r) => alertsOf(r.json).some((a) => a.labels.repo === clean)),
      "the clean repo was never notified",
    );
  } finally {
    const code = await mesh.stop();
    assert.ok(code === 0 || code === null, `exit ${code}`);
    assert.ok(
      mesh.output.includes("mirror: stopped"),
      `pnpm start stops cleanly on Ctrl-C\n${mesh.output.slice(-30).join("\n")}`,
    );
    if (process.env.MIRROR_TEST_VERBOSE)
      console.log(
        JSON.stringify(
          hook.requests.map((r) => r.json),
          null,
          1,
        ),
      );
  }
});

test("pnpm start exits 2 with the key path of an invalid config", async () => {
  const mesh = startMesh("scanner: { interval: soon }\n", {
    env: { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url },
  });
  assert.equal(await mesh.exited, 2);
  assert.ok(
    mesh.output.some((l) => l.includes("scanner.interval")),
    mesh.output.join("\n"),
  );
});
