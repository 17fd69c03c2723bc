// The Dockerfile's build steps, outside Docker: the same `pnpm deploy` and `pnpm mirror bundle`
// lines into a temp folder, then the deployed service started with the image's CMD against
// private NATS and Redis, healthy by the image's HEALTHCHECK script, and a clean exit 0 on SIGTERM.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { freePort, type ServerHandle, startNats, startRedis, tempDir } from "@mirror/testkit";
import { SERVICE_NODE_FLAGS } from "../packages/cli/src/node-flags.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const SERVICE = "model-rules";
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** The Dockerfile's `RUN pnpm <what> ... /out[/sub]` line, for SERVICE, into `out`. */
function runArgs(what: RegExp, out: string): string[] {
  const line = dockerfile
    .split("\n")
    .find((l) => l.startsWith("RUN pnpm ") && what.test(l) && / \/out(\/\S*)?$/.test(l));
  assert.ok(line, `Dockerfile has no \`RUN pnpm ${what.source} ... /out\` line`);
  return line
    .slice(4)
    .replaceAll("${SERVICE}", SERVICE)
    .replace(/ \/out(\/\S*)?$/, ` ${out}$1`)
    .split(/\s+/);
}

/** The Dockerfile's final CMD (exec form). */
function cmd(): string[] {
  const json = [...dockerfile.matchAll(/^CMD (\[.*\])$/gm)].at(-1)?.[1];
  assert.ok(json, "Dockerfile has no exec-form CMD");
  return JSON.parse(json) as string[];
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

function healthcheck(port: number): number | null {
  const env = { ...process.env, MIRROR_SERVICE: SERVICE, MIRROR_HEALTH_PORT: String(port) };
  return spawnSync(process.execPath, [join(root, "deploy/docker/healthcheck.mjs")], { env }).status;
}

test("pnpm deploy of model-rules runs with the image's CMD, healthy, and exits 0 on SIGTERM", {
  timeout: 150_000,
}, async () => {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  cleanups.push(() => Promise.all([nats, redis].map((s: ServerHandle) => s.dispose())));
  const dir = tempDir("mirror-deploy-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, "out");

  // In the Dockerfile's order: the deploy, then the bundle into the deployed folder.
  for (const what of [/^RUN pnpm deploy /, /^RUN pnpm mirror bundle /]) {
    const [bin, ...args] = runArgs(what, out);
    const step = spawnSync(bin, args, { cwd: root, encoding: "utf8" });
    assert.equal(step.status, 0, `${bin} ${args.join(" ")} failed:\n${step.stdout}\n${step.stderr}`);
  }
  // libsodium's addon travels beside the bundle: the image signs and verifies with it, not node:crypto.
  assert.ok(existsSync(join(out, "dist", "sodium-native.node")), "the bundle has no sodium-native.node beside it");

  const port = await freePort();
  writeFileSync(join(dir, "mirror.yaml"), `model: { port: ${port} }\n`);
  const [node, ...nodeArgs] = cmd();
  assert.deepEqual(
    nodeArgs.slice(0, -1),
    SERVICE_NODE_FLAGS,
    "the image's CMD runs node with other V8 flags than pnpm start",
  );
  const env = {
    ...process.env,
    NODE_ENV: "production",
    MIRROR_SERVICE: SERVICE,
    MIRROR_CONFIG: join(dir, "mirror.yaml"),
    MIRROR_NATS_URL: nats.url,
    MIRROR_REDIS_URL: redis.url,
    MIRROR_HTTP_HOST: "127.0.0.1",
  };
  const child = spawn(node, nodeArgs, { cwd: out, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-6000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  cleanups.push(() => child.kill("SIGKILL"));

  /** Polls GET path until 200; gives up at once if the service exits, or at the deadline. */
  const answers200 = async (path: string, timeout: number) => {
    const deadline = Date.now() + timeout;
    let last = "no answer";
    while (child.exitCode === null && Date.now() < deadline) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        if (res.status === 200) return;
        last = `status ${res.status}`;
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(
      `GET ${path}: ${child.exitCode === null ? `${last} after ${timeout}ms` : `service exited ${child.exitCode}`}\n${output}`,
    );
  };
  await answers200("/healthz", 60_000);
  await answers200("/readyz", 20_000);
  assert.equal(healthcheck(port), 0, "the image's HEALTHCHECK script fails against a healthy service");

  child.kill("SIGTERM");
  const code = await Promise.race([exited(child), new Promise((r) => setTimeout(r, 10_000, "timeout"))]);
  assert.equal(code, 0, `expected exit 0 after SIGTERM, got ${code}:\n${output}`);
  assert.equal(healthcheck(port), 1, "the HEALTHCHECK script passes with the service stopped");
});
