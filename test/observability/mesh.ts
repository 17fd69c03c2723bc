// The whole mesh through the real `pnpm start`, each service on a free port, with a dirty repo,
// a webhook channel, one HTTP check and (optionally) an OTLP/HTTP JSON receiver for traces.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_NAMES } from "../mesh-services.js";
import {
  freePort,
  makeRepo,
  type Mesh,
  type Receiver,
  type ServerHandle,
  startMesh,
  startReceiver,
  tempDir,
} from "@mirror/testkit";

export interface ObservedMesh {
  mesh: Mesh;
  /** HTTP port of each service of SERVICE_NAMES. */
  ports: Record<string, number>;
  /** A repo with an untracked file before the mesh starts. */
  dirty: string;
  /** A clean repo: a test dirties it once everything runs. */
  clean: string;
  hook: Receiver;
  /** The OTLP receiver (POST /v1/traces), when asked for. */
  otlp?: Receiver;
  stop(): Promise<void>;
}

/** Starts the mesh against the given servers and waits until every service has started. */
export async function startObservedMesh(
  nats: ServerHandle,
  redis: ServerHandle,
  opts: { traces?: boolean } = {},
): Promise<ObservedMesh> {
  const [hook, probed, otlp] = await Promise.all([
    startReceiver(),
    startReceiver(),
    opts.traces ? startReceiver() : undefined,
  ]);
  const root = tempDir("mirror-obs-roots-");
  const dirty = makeRepo(join(root, "dirty"));
  writeFileSync(join(dirty, "notes.txt"), "unfinished\n");
  const clean = makeRepo(join(root, "clean"));
  const ports: Record<string, number> = {};
  for (const name of SERVICE_NAMES) ports[name] = await freePort();
  const port = (name: string) => ports[name];
  const yaml = `scanner: { port: ${port("scanner")}, roots: [ "${root}" ], interval: 1s }
tracker: { port: ${port("service-tracker")}, discoverEvery: 2s, checks: [ { name: web, interval: 1s, http: { url: "${probed.url}" } } ] }
loops: { port: ${port("loop-detector")}, triageRetry: 1s, rules: { repo.dirty: { after: 0s } } }
notifier: { port: ${port("notifier")}, groupWait: 0s, groupInterval: 1s, groupBy: [alertname, repo], channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
model: { port: ${port("model-rules")} }
history: { port: ${port("history")} }
console: { port: ${port("console")} }
`;
  const env: NodeJS.ProcessEnv = {
    MIRROR_NATS_URL: nats.url,
    MIRROR_REDIS_URL: redis.url,
    MIRROR_HTTP_HOST: "127.0.0.1",
  };
  if (otlp)
    Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url.replace(/\/$/, ""), OTEL_BSP_SCHEDULE_DELAY: "200" });
  const mesh = startMesh(yaml, { env });
  const stop = async () => {
    await mesh.stop();
    await Promise.all([hook.close(), probed.close(), otlp?.close()]);
  };
  try {
    for (const name of SERVICE_NAMES) await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 120_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${mesh.output.slice(-40).join("\n")}`);
  }
  return { mesh, ports, dirty, clean, hook, otlp, stop };
}
