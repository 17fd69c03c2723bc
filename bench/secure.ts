/**
 * The deployed configuration for the pipeline figures (issue 25): the identities made by
 * `identity init`, nats-server with the generated accounts (permissions enforced, nobody
 * anonymous in the mesh's account), redis-server with the generated users.acl (each service its
 * own user), and `pnpm start` with the identity folder, so every event is signed and verified.
 * The baselines (jetstream.raw, the bus chain) connect without credentials into a separate
 * account, BENCH, on the same server process: same nats-server CPU, none of the mesh's rules.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Bus, identitiesOf } from "@mirror/bus";
import { connectBus, createLogger, parseConfig } from "@mirror/kit";
import { freePort, type ServerHandle, startNats, startRedis, tempDir } from "@mirror/testkit";
import { Registry } from "prom-client";
import { embeddedNatsEnv } from "../packages/cli/src/embedded.js";
import { initIdentities, REDIS_ACL_FILE } from "../packages/cli/src/identity/keys.js";
import { loadManifests } from "../packages/cli/src/manifests.js";
import { ACCOUNTS_CONF_FILE } from "../packages/cli/src/identity/server-conf.js";

const BENCH_REDIS_PASSWORD = "bench-counts-only";

export interface BenchServers {
  nats: ServerHandle;
  redis: ServerHandle;
  /** nats-server's monitoring port (/varz). */
  monitorPort: number;
  /** The identity folder, when identity is on. */
  identityDir?: string;
  /** A Redis login that may only run INFO (the command counts), when the default user is off. */
  redisInfoLogin?: { username: string; password: string };
  /** Environment for `pnpm start`. */
  env: NodeJS.ProcessEnv;
  dispose(): Promise<void>;
}

/** accounts.conf plus the BENCH account that anonymous clients (the baselines) land in. */
function natsConfig(dir: string): string {
  const accounts = readFileSync(join(dir, ACCOUNTS_CONF_FILE), "utf8").trimEnd();
  if (!accounts.endsWith("}")) throw new Error(`${ACCOUNTS_CONF_FILE} does not end with the accounts block`);
  const bench = '  BENCH {\n    jetstream: enabled\n    users: [ { user: "bench", password: "bench" } ]\n  }\n}';
  return `${accounts.slice(0, -1)}${bench}\nno_auth_user: bench\n`;
}

/**
 * Private servers for one pipeline run: the deployed configuration (`identity`), or the old
 * anonymous one. nats-server runs with the Go settings `pnpm start` and compose give it
 * (`embeddedNatsEnv`: GOGC 50, GOMAXPROCS 1).
 */
export async function startBenchServers(identity: boolean): Promise<BenchServers> {
  const monitorPort = await freePort();
  if (!identity) {
    const [nats, redis] = await Promise.all([
      startNats({ args: ["-m", String(monitorPort)], env: embeddedNatsEnv() }),
      startRedis(),
    ]);
    return {
      nats,
      redis,
      monitorPort,
      env: { MIRROR_IDENTITY: "off" },
      dispose: () => Promise.all([nats.dispose(), redis.dispose()]).then(() => undefined),
    };
  }
  const dir = join(tempDir("mirror-bench-id-"), "identity");
  initIdentities(
    dir,
    { rotate: false, listen: "127.0.0.1:4222", storeDir: join(dir, "nats") },
    identitiesOf(await loadManifests()),
  );
  const acl = join(dir, REDIS_ACL_FILE);
  const aclText = `${readFileSync(acl, "utf8")}user bench on >${BENCH_REDIS_PASSWORD} resetkeys -@all +info\n`;
  const aclFile = join(dir, "bench-users.acl");
  await import("node:fs").then((fs) => fs.writeFileSync(aclFile, aclText));
  const [nats, redis] = await Promise.all([
    startNats({ config: natsConfig(dir), args: ["-m", String(monitorPort)], env: embeddedNatsEnv() }),
    startRedis({ args: ["--aclfile", aclFile] }),
  ]);
  return {
    nats,
    redis,
    monitorPort,
    identityDir: dir,
    redisInfoLogin: { username: "bench", password: BENCH_REDIS_PASSWORD },
    env: { MIRROR_IDENTITY_DIR: dir, MIRROR_IDENTITY: "" },
    dispose: () => Promise.all([nats.dispose(), redis.dispose()]).then(() => undefined),
  };
}

/** A bus connection as `name` (its key, signer and inbox when identity is on), as a service makes it. */
export function benchBus(name: string, servers: BenchServers): Promise<Bus> {
  const config = parseConfig(`bus: { url: "${servers.nats.url}" }\n`, {});
  const env: NodeJS.ProcessEnv = servers.identityDir
    ? { MIRROR_IDENTITY_DIR: servers.identityDir }
    : { MIRROR_IDENTITY: "off" };
  return connectBus(name, {
    config,
    env,
    log: createLogger(`bench-${name}`, undefined, "warn"),
    registry: new Registry(),
  });
}

/**
 * Operation counters: NATS messages and bytes in and out (nats-server /varz), Redis commands
 * processed and bytes in and out (INFO stats). Bytes are what every socket write and read costs
 * by its size; the VM's drift does not move them.
 */
export interface OpCounts {
  natsIn: number;
  natsOut: number;
  redisCommands: number;
  natsInBytes: number;
  natsOutBytes: number;
  redisInBytes: number;
  redisOutBytes: number;
}

async function redisStats(
  servers: BenchServers,
): Promise<Pick<OpCounts, "redisCommands" | "redisInBytes" | "redisOutBytes">> {
  const { Redis } = await import("ioredis");
  const r = new Redis({
    host: "127.0.0.1",
    port: servers.redis.port,
    ...(servers.redisInfoLogin ?? {}),
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 1,
  });
  try {
    await r.connect();
    const info = await r.info("stats");
    const stat = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? Number.NaN);
    return {
      redisCommands: stat("total_commands_processed"),
      redisInBytes: stat("total_net_input_bytes"),
      redisOutBytes: stat("total_net_output_bytes"),
    };
  } finally {
    r.disconnect();
  }
}

/** The counters now (the two reads themselves add one Redis command, a few kB of Redis traffic and no NATS message). */
export async function opCounts(servers: BenchServers): Promise<OpCounts> {
  const varz = (await (await fetch(`http://127.0.0.1:${servers.monitorPort}/varz`)).json()) as {
    in_msgs: number;
    out_msgs: number;
    in_bytes: number;
    out_bytes: number;
  };
  return {
    natsIn: varz.in_msgs,
    natsOut: varz.out_msgs,
    natsInBytes: varz.in_bytes,
    natsOutBytes: varz.out_bytes,
    ...(await redisStats(servers)),
  };
}

/** Per event between two readings. */
export function opsPerEvent(before: OpCounts, after: OpCounts, events: number): OpCounts {
  const per = (k: keyof OpCounts) => (after[k] - before[k]) / events;
  return {
    natsIn: per("natsIn"),
    natsOut: per("natsOut"),
    redisCommands: (after.redisCommands - before.redisCommands - 1) / events,
    natsInBytes: per("natsInBytes"),
    natsOutBytes: per("natsOutBytes"),
    redisInBytes: per("redisInBytes"),
    redisOutBytes: per("redisOutBytes"),
  };
}
