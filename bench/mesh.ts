/**
 * The real mesh for the pipeline figures: `pnpm start` (the supervisor, one process per
 * service) against private nats-server and redis-server, every service on a free port, the
 * notifier delivering to the bench's local webhook receiver.
 */
import { loadManifests, startOrder } from "../packages/cli/src/manifests.js";
import { freePort, type Mesh, startMesh, tempDir } from "@mirror/testkit";

const SERVICE_NAMES = startOrder(await loadManifests()).map((m) => m.name);

export interface BenchMesh {
  mesh: Mesh;
  /** Snapshot paths must be under this scanner root (the loop-detector refuses others). */
  root: string;
  names: readonly string[];
  stop(): Promise<void>;
}

async function yaml(root: string, hookUrl: string): Promise<string> {
  const [scanner, tracker, loops, notifier, model] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  // One group per repo (groupBy alertname+repo) with groupWait 0s: every snapshot that opens a
  // loop becomes its own delivery, so the latency of each one can be seen at the receiver.
  return `scanner: { port: ${scanner}, roots: [ "${root}" ], interval: 1h, watch: false }
tracker: { port: ${tracker} }
loops: { port: ${loops}, rules: { repo.dirty: { after: 0s } } }
notifier:
  port: ${notifier}
  groupWait: 0s
  groupBy: [alertname, repo]
  channels: [ { name: bench, type: webhook, url: "${hookUrl}" } ]
model: { port: ${model} }
history: { port: 0 }
`;
}

/**
 * Starts the whole mesh, one process per service (`--isolated`, as compose deploys it, so each
 * service's CPU and RSS is its own figure), and waits until every service logged "service started".
 */
export async function startBenchMesh(
  env: { natsUrl: string; redisUrl: string; hookUrl: string; extraEnv?: NodeJS.ProcessEnv },
  timeoutMs = 240_000,
): Promise<BenchMesh> {
  const root = tempDir("mirror-bench-pipeline-");
  const names = SERVICE_NAMES;
  const mesh = startMesh(await yaml(root, env.hookUrl), {
    env: {
      MIRROR_NATS_URL: env.natsUrl,
      MIRROR_REDIS_URL: env.redisUrl,
      MIRROR_HTTP_HOST: "127.0.0.1",
      ...env.extraEnv,
    },
    command: ["pnpm", "start", "--isolated", ...names],
  });
  const stop = async () => void (await mesh.stop());
  try {
    const exited = mesh.exited.then((code) => {
      throw new Error(`pnpm start exited (${code}) before the mesh was up:\n${mesh.output.slice(-20).join("\n")}`);
    });
    for (const name of names) {
      await Promise.race([mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), timeoutMs), exited]);
    }
    exited.catch(() => undefined);
  } catch (err) {
    await stop();
    throw err;
  }
  return { mesh, root, names, stop };
}
