import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { identitiesOf } from "@mirror/bus";
import { ManifestError, type ServiceManifest } from "@mirror/contracts";
import { ConfigError, configPath, loadConfig, portOffset } from "@mirror/kit";
import { embeddedRedisAcl, hostPort, onPath, reachableServer, storeUrlNow } from "../embedded.js";
import { defaultIdentity, natsServerVersion, redisAuthFor, warnAdvisories } from "../secure-start.js";
import { embeddedNatsConfig, missingSeeds, provisionBeforeStart, refusesAnonymous } from "../identity/prepare.js";
import { serviceBundle, TOGETHER } from "../bundle.js";
import { SERVICE_NODE_FLAGS } from "../node-flags.js";
import { repoRoot } from "../paths.js";
import { loadManifests, processesOf, type StartProcess, startOrder } from "../manifests.js";
import { inProcessHost, parentHost } from "../start-host.js";
import { logFormat } from "../start-output.js";
import type { Supervised } from "../supervisor.js";

const root = repoRoot;

function knownServices(): string[] {
  return readdirSync(join(root, "services")).filter((d) => existsSync(join(root, "services", d, "src", "main.ts")));
}

const USAGE = "usage: mirror start [--single | --isolated] [NAME...]";

/**
 * `mirror start [--single | --isolated] [NAME...]`: the whole mesh (or the named services), in the
 * processes their manifests name (`process`: the services naming the same one share a Node
 * process, each still its own bus connection, identity, port and Redis login; a crash restarts
 * that process); with --isolated, one process per service (as compose runs them); with --single,
 * all in one process.
 */
export async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const say = (msg: string) => process.stdout.write(`mirror: ${msg}\n`);
  const single = argv.includes("--single");
  const isolated = argv.includes("--isolated");
  const args = argv.filter((a) => a !== "--single" && a !== "--isolated");
  const flag = args.find((a) => a.startsWith("-"));
  if (flag) {
    process.stderr.write(`mirror: unknown option ${flag}; ${USAGE}\n`);
    return 2;
  }
  if (single && isolated) {
    process.stderr.write(
      `mirror: --single runs every service in one process, --isolated each in its own: choose one; ${USAGE}\n`,
    );
    return 2;
  }
  const format = logFormat(env, process.stdout.isTTY);
  if (format !== "json" && format !== "pretty") {
    process.stderr.write(`mirror: ${format}\n`);
    return 2;
  }
  let manifests: ServiceManifest[];
  try {
    manifests = await loadManifests(root);
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    process.stderr.write(`mirror: ${err.message}\n`);
    return 2;
  }
  const table = identitiesOf(manifests);
  const known = knownServices().filter((n) => manifests.some((m) => m.name === n));
  const names = args.length ? args : startOrder(manifests).map((m) => m.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) {
    process.stderr.write(`mirror: unknown service ${unknown.join(", ")}; services: ${known.join(", ")}\n`);
    return 2;
  }
  let config: import("@mirror/contracts").MirrorConfig;
  try {
    config = loadConfig(env).config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mirror: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    // Every service shifts its HTTP port by it; a bad value would stop each of them with exit 2.
    if (portOffset(env)) say(`MIRROR_PORT_OFFSET=${portOffset(env)}: every HTTP port is shifted by it`);
  } catch (err) {
    process.stderr.write(`mirror: ${(err as Error).message}\n`);
    return 2;
  }
  const file = configPath(env);
  say(file ? `config ${file}` : "no mirror.yaml found; using defaults");
  const warn = (msg: string) => process.stderr.write(`mirror: WARNING: ${msg}\n`);
  const host = env.MIRROR_START_PREPARE === "1" && process.send ? parentHost() : inProcessHost(say);
  const dataRoot = resolve(env.MIRROR_DATA_DIR ?? join(process.cwd(), ".mirror"));
  let idDir: string | undefined;
  try {
    idDir = defaultIdentity(config, env, dataRoot, hostPort(config.bus.url, 4222).port, table, say, warn);
  } catch (err) {
    process.stderr.write(`mirror: ${(err as Error).message}\n`);
    return 2;
  }
  const missing = idDir ? missingSeeds(idDir, names) : [];
  if (idDir && missing.length) {
    process.stderr.write(
      `mirror: no key for ${missing.join(", ")} in ${idDir}; run: pnpm mirror identity init --out ${idDir}\n`,
    );
    return 2;
  }
  if (idDir) say(`identity folder ${idDir}: each service connects with its own key and signs its events`);
  const external = new Set<string>();
  if (!(await import("../http-token.js")).prepareHttpToken(config, dataRoot, say)) return 2;
  // With store.sentinels, the Redis checked (and probed for the identity users) is the master they name.
  const storeNow = await storeUrlNow(config.store);
  for (const [kind, url, port, bin] of [
    ["nats", config.bus.url, 4222, "nats-server"],
    ["redis", storeNow.url, 6379, "redis-server"],
  ] as const) {
    const hp = await reachableServer(url, port);
    if (hp.up) {
      external.add(kind);
      continue;
    }
    if (kind === "redis" && storeNow.viaSentinel) {
      process.stderr.write(
        `mirror: ${storeNow.master ? `the Redis master ${hp.host}:${hp.port} the sentinels name does not answer` : `no sentinel of store.sentinels (${config.store.sentinels?.join(", ")}) names a master "${config.store.name}"`}\n`,
      );
      await host.stopServers();
      return 1;
    }
    if (!hp.local || !onPath(bin)) {
      process.stderr.write(
        `mirror: nothing answers at ${kind === "nats" ? "the NATS URL" : "the Redis URL"} ${hp.host}:${hp.port}${hp.local ? ` and ${bin} is not on PATH` : ""}.\n` +
          `  Either install nats-server and redis-server (e.g. apt-get install nats-server redis-server) and run pnpm start again,\n` +
          `  or run the mesh in containers: docker compose up -d\n`,
      );
      await host.stopServers();
      return 1;
    }
    say(`no ${kind} at ${hp.host}:${hp.port}; starting the embedded ${bin} with data in ${join(dataRoot, kind)}`);
    warnAdvisories(bin, warn);
    const conf = kind === "nats" ? embeddedNatsConfig(idDir) : embeddedRedisAcl(idDir);
    if (!(await host.startServer({ kind, bin, port: hp.port, dataRoot, ...(conf ? { conf } : {}) }))) {
      await host.stopServers();
      return 1;
    }
  }
  const busProblem = idDir
    ? await provisionBeforeStart(config, idDir, table, say)
    : (await refusesAnonymous(config.bus.url))
      ? "the NATS server refuses anonymous clients and no identity is set: set MIRROR_IDENTITY_DIR (or bus.identityDir) to the folder made by `pnpm mirror identity init --out DIR`"
      : undefined;
  if (busProblem) {
    process.stderr.write(`mirror: ${busProblem}\n`);
    await host.stopServers();
    return 1;
  }
  const nats = hostPort(config.bus.url, 4222);
  if (external.has("nats")) {
    const version = await natsServerVersion(nats.host, nats.port);
    if (version) warnAdvisories("nats-server", warn, version);
    if (idDir && !(await refusesAnonymous(config.bus.url))) {
      warn(
        `the NATS server at ${nats.host}:${nats.port} accepts anonymous clients: anyone who can reach it can publish. Services still sign and verify their events; run it with ${join(idDir, "accounts.conf")} to refuse them.`,
      );
    }
  }
  const redis = hostPort(storeNow.url, 6379);
  const storeAuth =
    env.MIRROR_REDIS_AUTH || config.store.auth || (await redisAuthFor(redis.host, redis.port, idDir, table, warn));
  const childEnv = {
    ...env,
    ...(file ? { MIRROR_CONFIG: file } : {}),
    ...(idDir ? { MIRROR_IDENTITY_DIR: idDir } : {}),
    MIRROR_REDIS_AUTH: storeAuth,
  };
  const processes = single ? [{ name: "mirror", services: names }] : processesOf(manifests, names, isolated);
  const { services, bundle } = await commands(processes, known, env, say, single);
  say(
    single
      ? `starting ${names.join(", ")} in one process (--single)`
      : processes.length === names.length
        ? `starting ${names.join(", ")}`
        : `starting ${names.join(", ")} in ${processes.length} processes: ${processes.map((p) => (p.services.length > 1 ? `${p.name} (${p.services.join(", ")})` : p.name)).join(", ")}`,
  );
  return host.supervise({ services, env: childEnv, cwd: root, names, ...(bundle ? { bundle } : {}) });
}

/**
 * How each service is run: from the bundle of every known service (built on the first start and
 * after a source changes), on plain node. MIRROR_FROM_SOURCE=1, or a failed build, runs the
 * TypeScript sources under tsx instead.
 */
async function commands(
  processes: StartProcess[],
  known: string[],
  env: NodeJS.ProcessEnv,
  say: (msg: string) => void,
  single: boolean,
): Promise<{ services: Supervised[]; bundle?: string }> {
  // A process of several services: lines labelled by the service that logged them.
  const shared = (p: StartProcess, script: string[]): Supervised => ({
    name: p.name,
    args: [...SERVICE_NODE_FLAGS, ...script, ...p.services],
    labels: p.services,
  });
  const fromSource = () =>
    processes.map((p) =>
      p.services.length > 1 || single
        ? shared(p, ["--import", "tsx", join(root, "packages", "cli", "src", "single-main.ts")])
        : {
            name: p.name,
            args: [...SERVICE_NODE_FLAGS, "--import", "tsx", join(root, "services", p.name, "src", "main.ts")],
          },
    );
  if (env.MIRROR_FROM_SOURCE === "1") {
    say("MIRROR_FROM_SOURCE=1: running the services from their TypeScript sources (tsx)");
    return { services: fromSource() };
  }
  const started = performance.now();
  try {
    const { dir, built } = await serviceBundle(root, known);
    if (built) say(`bundled ${known.length} services into ${dir} in ${Math.round(performance.now() - started)}ms`);
    // A worker thread of the supervisor: one Node runtime less in memory; the old-space limit of
    // SERVICE_NODE_FLAGS, a young generation of 2 MB (3 MB, i.e. 1 MB semi-spaces, held ~1 MB more
    // at idle for the same idle CPU within the runs' spread: docs/PERFORMANCE.md, footprint).
    if (single)
      return {
        services: processes.map((p) => ({
          name: p.name,
          args: [join(dir, `${TOGETHER}.mjs`), ...p.services],
          labels: p.services,
          thread: { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 2 },
        })),
        bundle: dir,
      };
    return {
      services: processes.map((p) =>
        p.services.length > 1
          ? shared(p, [join(dir, `${TOGETHER}.mjs`)])
          : { name: p.name, args: [...SERVICE_NODE_FLAGS, join(dir, `${p.name}.mjs`)] },
      ),
      bundle: dir,
    };
  } catch (err) {
    process.stderr.write(
      `mirror: bundling the services failed (${(err as Error).message}); running them from source with tsx\n`,
    );
    return { services: fromSource() };
  }
}
