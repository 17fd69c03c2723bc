// Issue 5's acceptance as a new user would try it, through the real `pnpm start` and `pnpm mirror ack`:
// two dirty repos at repo.dirty after 0s and repeatInterval 2s; both listed open; one acknowledged gets
// no repeat notification; the whole mesh stopped and started again keeps it acknowledged and quiet.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import type { Loop } from "@mirror/contracts";
import {
  freePort,
  makeRepo,
  type Mesh,
  REPO_ROOT,
  type Receiver,
  type ServerHandle,
  startMesh,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
} from "@mirror/testkit";

type Alert = { status: string; labels: Record<string, string> };
const alertsOf = (json: unknown) => ((json as { alerts?: Alert[] }).alerts ?? []) as Alert[];

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose(), hook.close()]);
});

test("an acknowledged loop stays acknowledged and quiet, across a restart of the whole mesh", async () => {
  const root = tempDir("mirror-roots-");
  const [a, b] = ["alpha", "beta"].map((n) => makeRepo(join(root, n))) as [string, string];
  for (const r of [a, b]) writeFileSync(join(r, "wip.txt"), "unfinished\n");
  const port = await freePort();
  const yaml = `scanner: { roots: [ "${root}" ], interval: 1s }
loops: { port: ${port}, rules: { repo.dirty: { after: 0s } } }
notifier: { groupWait: 0s, groupInterval: 1s, repeatInterval: 2s, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
`;
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" };
  const firingFor = (repo: string, since: number) =>
    hook.requests.filter(
      (r) => r.at > since && alertsOf(r.json).some((x) => x.status === "firing" && x.labels.repo === repo),
    );
  let mesh: Mesh = startMesh(yaml, { env });
  try {
    await mesh.waitForLine(/^loop-detector .*"msg":"service started"/, 120_000);
    await hook.waitFor("both repos firing", () => firingFor(a, 0).length > 0 && firingFor(b, 0).length > 0, 60_000);
    const open = (await (await fetch(`http://127.0.0.1:${port}/loops?status=open`)).json()) as { loops: Loop[] };
    assert.deepEqual(open.loops.map((l) => l.entity.repo).sort(), [a, b]);
    const loopA = open.loops.find((l) => l.entity.repo === a) as Loop;

    const ack = await promisify(execFile)("pnpm", ["mirror", "ack", loopA.id], {
      cwd: REPO_ROOT,
      env: { ...process.env, MIRROR_CONFIG: mesh.configFile, ...env },
    });
    assert.match(ack.stdout, /acknowledged/);
    const acked = Date.now();
    // The other loop repeats every 2s: two repeats of it after the ack, and none for the acknowledged one.
    await hook.waitFor("repeats of the other loop", () => firingFor(b, acked + 500).length >= 2 && true, 30_000);
    assert.deepEqual(firingFor(a, acked + 500), [], "no repeat for the acknowledged loop");

    assert.ok((await mesh.stop()) !== -9, "the mesh stops on Ctrl-C");
    const restarted = Date.now();
    mesh = startMesh(yaml, { env });
    await mesh.waitForLine(/^loop-detector .*"msg":"service started"/, 120_000);
    const after = (await (await fetch(`http://127.0.0.1:${port}/loops/${loopA.id}`)).json()) as { loop: Loop };
    assert.equal(after.loop.status, "acknowledged");
    await hook.waitFor(
      "the other loop still repeats after the restart",
      () => firingFor(b, restarted).length >= 2 && true,
      60_000,
    );
    assert.deepEqual(firingFor(a, acked + 500), [], "still no notification for the acknowledged loop");
  } finally {
    await mesh.stop();
  }
});
