// `pnpm start --single` (issue 25): every service in one process, each still its own member of
// the mesh; a member that fails to start leaves the others running; and `pnpm start` runs the
// services in the processes their manifests name, with no pnpm child, TypeScript loader or esbuild
// process beside them.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { processesOf } from "../packages/cli/src/manifests.js";
import { MANIFESTS, SERVICE_NAMES } from "./mesh-services.js";
import {
  descendants,
  freePort,
  linesOf,
  makeRepo,
  type Mesh,
  type Receiver,
  type ServerHandle,
  startMesh,
  startNats,
  startReceiver,
  servicePid,
  sharedServices,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";

type Alert = { status: string; labels: Record<string, string> };
type Members = Record<string, { state: string; error?: string }>;

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;

before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose(), hook.close()]);
});

const env = () => ({ MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" });

/** The tests share nats-server and redis-server: one notification group per repo, so an earlier test's group does not hold this one's alert for its group interval. */
async function config(root: string, over: { model?: number } = {}) {
  const [p1, p2, p3, p4, p5] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  return {
    ports: { scanner: p1 as number, loops: p3 as number },
    yaml: `scanner: { roots: [ "${root}" ], interval: 1s, port: ${p1} }
loops: { rules: { repo.dirty: { after: 0s } }, port: ${p3} }
notifier: { groupWait: 0s, groupBy: [alertname, repo], channels: [ { name: hook, type: webhook, url: "${hook.url}" } ], port: ${p4} }
tracker: { port: ${p2} }
model: { port: ${over.model ?? p5} }
`,
  };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** The command lines below `pnpm start` (the pnpm process itself is the root, which the shell waits on). */
const tree = (mesh: Mesh) =>
  descendants(mesh.child.pid as number)
    .map(cmdline)
    .filter(Boolean);

async function stopped(mesh: Mesh): Promise<void> {
  const code = await mesh.stop();
  assert.ok(code === 0 || code === null, `exit ${code}\n${mesh.output.slice(-20).join("\n")}`);
  assert.ok(mesh.output.includes("mirror: stopped"), `stops cleanly on Ctrl-C\n${mesh.output.slice(-20).join("\n")}`);
}

test("pnpm start --single runs every service in the supervisor's one process, and a dirty repo reaches the webhook", async () => {
  const root = tempDir("mirror-single-");
  const dirty = makeRepo(join(root, "dirty"));
  writeFileSync(join(dirty, "notes.txt"), "unfinished\n");
  const { yaml, ports } = await config(root);
  const mesh = startMesh(yaml, { env: env(), command: ["pnpm", "start", "--single"] });
  try {
    for (const name of ["scanner", "loop-detector", "notifier"]) {
      await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 180_000);
    }
    await hook.waitFor(
      "firing repo.dirty for the dirty repo",
      (r) =>
        ((r.json as { alerts?: Alert[] }).alerts ?? []).some((a) => a.status === "firing" && a.labels.repo === dirty),
      60_000,
    );
    // The services run in a worker thread of the supervisor: no process of their own, and the
    // only node process below pnpm start is the supervisor (beside nats-server and redis-server),
    // once the ready summary's short-lived `mirror status` has come and gone.
    await mesh.waitForLine(/"msg":"mesh ready"/, 120_000);
    const cmds = tree(mesh);
    assert.ok(
      !cmds.some((c) => /\/services\/[^/]+\/src\/main\.ts|\/(services-[^/]+|mirror-single)[^ ]*\.mjs/.test(c)),
      `no process per service:\n${cmds.join("\n")}`,
    );
    assert.equal(cmds.filter((c) => /^(\S*\/)?node /.test(c)).length, 1, `one node process:\n${cmds.join("\n")}`);
    assert.deepEqual(
      cmds.filter((c) => /\bpnpm\b|\btsx\b|esbuild/.test(c)),
      [],
      `no pnpm, tsx or esbuild process below pnpm start:\n${cmds.join("\n")}`,
    );
    // Each member is its own service: its own port, and every member's /readyz lists them all.
    const ready = (await (await fetch(`http://127.0.0.1:${ports.loops}/readyz`)).json()) as {
      ok: boolean;
      members: Members;
    };
    assert.equal(ready.ok, true);
    for (const name of SERVICE_NAMES)
      assert.equal(ready.members[name]?.state, "started", `${name}: ${JSON.stringify(ready.members)}`);
  } finally {
    await stopped(mesh);
  }
});

test("a service that fails to start in --single leaves the others running, logged and on /readyz", async () => {
  const root = tempDir("mirror-single-fail-");
  const dirty = makeRepo(join(root, "dirty"));
  writeFileSync(join(dirty, "notes.txt"), "unfinished\n");
  // model-rules' port is taken: it cannot listen, the others can.
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
  const taken = (squatter.address() as { port: number }).port;
  const { yaml, ports } = await config(root, { model: taken });
  const mesh = startMesh(yaml, { env: env(), command: ["pnpm", "start", "--single"] });
  try {
    await mesh.waitForLine(/^model-rules .*"msg":"failed to start; retrying"/, 180_000);
    for (const name of ["scanner", "loop-detector", "notifier"]) {
      await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 180_000);
    }
    const members = await waitFor(
      "model-rules failed on the scanner's /readyz",
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${ports.scanner}/readyz`)).json()) as {
          ok: boolean;
          members: Members;
        };
        return body.ok && body.members["model-rules"]?.state === "retrying" && body.members.scanner?.state === "started"
          ? body.members
          : undefined;
      },
      { timeout: 30_000 },
    );
    assert.match(members["model-rules"]?.error ?? "", /EADDRINUSE/);
    // The others work: a dirty repo still becomes a firing alert.
    await hook.waitFor(
      "firing repo.dirty while model-rules is down",
      (r) =>
        ((r.json as { alerts?: Alert[] }).alerts ?? []).some((a) => a.status === "firing" && a.labels.repo === dirty),
      60_000,
    );
  } finally {
    await stopped(mesh);
    squatter.close();
  }
});

test("pnpm start runs the services in the processes their manifests name, keeps no pnpm, tsx or esbuild process, and a kill -9 of one restarts only its services", async () => {
  const root = tempDir("mirror-lean-");
  const { yaml } = await config(root);
  const mesh = startMesh(yaml, { env: env() });
  try {
    for (const name of SERVICE_NAMES) await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 180_000);
    // Once the ready summary's short-lived `mirror status` has come and gone.
    await mesh.waitForLine(/"msg":"mesh ready"/, 120_000);
    const cmds = tree(mesh);
    assert.deepEqual(
      cmds.filter((c) => /\bpnpm\b|\btsx\b|esbuild/.test(c)),
      [],
      `no pnpm, tsx or esbuild process below pnpm start:\n${cmds.join("\n")}`,
    );
    // The supervisor runs on plain node from the CLI bundle; the preparation step has exited.
    assert.equal(
      cmds.filter((c) => /^(\S*\/)?node .*packages\/cli\/bin\/mirror\.mjs start/.test(c)).length,
      1,
      cmds.join("\n"),
    );
    // One node process per process the manifests name (intake, alerts, desk), each running its services.
    const expected = processesOf(MANIFESTS, SERVICE_NAMES);
    assert.ok(expected.length < SERVICE_NAMES.length, JSON.stringify(expected));
    const shared = cmds
      .map(sharedServices)
      .filter((names): names is string[] => names !== undefined)
      .map((names) => [...names].sort().join(" "))
      .sort();
    assert.deepEqual(
      shared,
      expected
        .filter((p) => p.services.length > 1)
        .map((p) => [...p.services].sort().join(" "))
        .sort(),
      cmds.join("\n"),
    );
    assert.equal(
      cmds.filter((c) => /^(\S*\/)?node /.test(c)).length,
      1 + expected.length,
      `the supervisor and one node process per process:\n${cmds.join("\n")}`,
    );
    // kill -9 of the alert path's process: the loop-detector and the notifier start again, the
    // other processes keep running, and a repo that turns dirty now still reaches the webhook.
    const alerts = servicePid(mesh, "notifier") as number;
    assert.equal(servicePid(mesh, "loop-detector"), alerts, "the loop-detector and the notifier share a process");
    const others = ["scanner", "console"].map((n) => servicePid(mesh, n));
    const starts = (n: string) => linesOf(mesh, n, /"msg":"service started"/).length;
    const before = { ld: starts("loop-detector"), notifier: starts("notifier"), scanner: starts("scanner") };
    process.kill(alerts, "SIGKILL");
    await mesh.waitForLine(/^alerts\s*\| exited \(SIGKILL\); restarting/, 30_000);
    await waitFor(
      "the loop-detector and the notifier started again",
      () => starts("loop-detector") > before.ld && starts("notifier") > before.notifier,
      { timeout: 120_000 },
    );
    assert.deepEqual(
      ["scanner", "console"].map((n) => servicePid(mesh, n)),
      others,
      "the intake and the desk processes kept running",
    );
    assert.equal(starts("scanner"), before.scanner);
    const dirty = makeRepo(join(root, "dirty-after-kill"));
    writeFileSync(join(dirty, "notes.txt"), "unfinished\n");
    await hook.waitFor(
      "firing repo.dirty after the alert path's process was killed",
      (r) =>
        ((r.json as { alerts?: Alert[] }).alerts ?? []).some((a) => a.status === "firing" && a.labels.repo === dirty),
      90_000,
    );
  } finally {
    await stopped(mesh);
  }
});
