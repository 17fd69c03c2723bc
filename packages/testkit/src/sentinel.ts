import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./ports.js";
import { launcher, type ServerHandle } from "./servers.js";
import { waitFor } from "./wait.js";

/** A Redis master, its replica and the sentinels that watch them, all on loopback. */
export interface RedisSentinelSet {
  /** The master group name the sentinels monitor: `store.name`. */
  readonly name: string;
  /** The two data nodes, [0] the first master and [1] its replica; roles swap at a failover. */
  readonly nodes: readonly ServerHandle[];
  readonly sentinels: readonly ServerHandle[];
  /** `127.0.0.1:<port>` of every sentinel: `store.sentinels`. */
  readonly sentinelAddrs: string[];
  /** The user the replica and the sentinels log in with when `acl` is set (it may do anything). */
  readonly admin: { username: string; password: string } | undefined;
  /** The master's port as the sentinels report it now. */
  masterPort(): Promise<number>;
  /** The data node that is master now. */
  master(): Promise<ServerHandle>;
  /** kill -9 of the current master; resolves with its handle (restart() brings it back; the sentinels make it a replica). */
  killMaster(): Promise<ServerHandle>;
  /** Waits until the sentinels report a master other than `oldPort` and it answers as master; resolves with its port. */
  failedOver(oldPort: number, timeout?: number): Promise<number>;
  /** Waits until every sentinel sees the replica and the other sentinels, and the replica is in sync. */
  settled(timeout?: number): Promise<void>;
  dispose(): Promise<void>;
}

export interface RedisSentinelOptions {
  /** Master group name (default "mirror"). */
  name?: string;
  /** Number of sentinels (default 3, quorum 2). */
  sentinels?: number;
  /**
   * The data nodes' ACL users, e.g. the identity folder's `users.acl` (as text). An admin user is
   * added for replication and the sentinels (`admin` above); the sentinels themselves stay open.
   */
  acl?: string;
  /** `sentinel down-after-milliseconds` (default 1000): how long a silent master takes to be declared down. */
  downAfterMs?: number;
  /** `sentinel failover-timeout` (default 5000). */
  failoverTimeoutMs?: number;
  /** Append-only persistence on the data nodes (default false). */
  appendonly?: boolean;
}

const ADMIN = "mirror-sentinel-admin";

function client(port: number, auth?: { username: string; password: string }): Redis {
  return new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    ...(auth ?? {}),
  });
}

async function ask<T>(
  port: number,
  f: (r: Redis) => Promise<T>,
  auth?: { username: string; password: string },
): Promise<T> {
  const r = client(port, auth);
  r.on("error", () => undefined);
  try {
    await r.connect();
    return await f(r);
  } finally {
    r.disconnect();
  }
}

/**
 * Starts a Redis master, one replica and `sentinels` `redis-server --sentinel` processes on free
 * loopback ports, and waits until the sentinels know each other and the replica is in sync. The
 * store connects through the sentinels as ioredis does (`store.sentinels`, `store.name`).
 *
 * ```ts
 * const rs = await startRedisSentinel();                      // or { acl: readFileSync(".../users.acl", "utf8") }
 * const config = { store: { sentinels: rs.sentinelAddrs, name: rs.name } };
 * const old = await rs.masterPort();
 * await rs.killMaster();                                      // kill -9
 * await rs.failedOver(old);                                   // the replica was promoted
 * after(() => rs.dispose());
 * ```
 */
export async function startRedisSentinel(opts: RedisSentinelOptions = {}): Promise<RedisSentinelSet> {
  const name = opts.name ?? "mirror";
  const count = opts.sentinels ?? 3;
  const root = mkdtempSync(join(tmpdir(), "mirror-redis-sentinel-"));
  const admin =
    opts.acl !== undefined
      ? { username: ADMIN, password: `pw-${Math.random().toString(36).slice(2)}${Date.now()}` }
      : undefined;
  const dataPorts = [await freePort(), await freePort()];
  const sentinelPorts: number[] = [];
  for (let i = 0; i < count; i++) sentinelPorts.push(await freePort());
  const masterPort0 = dataPorts[0] as number;

  const dataConf = (i: number): string => {
    const dir = join(root, `redis-${i}`);
    mkdirSync(dir, { recursive: true });
    const lines = [
      `port ${dataPorts[i]}`,
      "bind 127.0.0.1",
      `dir ${JSON.stringify(dir)}`,
      'save ""',
      `appendonly ${opts.appendonly ? "yes" : "no"}`,
      "protected-mode no",
      `logfile ${JSON.stringify(join(dir, "redis.log"))}`,
    ];
    if (admin) {
      const aclFile = join(dir, "users.acl");
      writeFileSync(
        aclFile,
        `${opts.acl?.trimEnd() ?? ""}\nuser ${admin.username} on >${admin.password} ~* &* +@all\n`,
      );
      lines.push(`aclfile ${JSON.stringify(aclFile)}`, `masteruser ${admin.username}`, `masterauth ${admin.password}`);
    }
    if (i > 0) lines.push(`replicaof 127.0.0.1 ${masterPort0}`);
    const conf = join(dir, "redis.conf");
    writeFileSync(conf, `${lines.join("\n")}\n`);
    return conf;
  };
  const sentinelConf = (i: number): string => {
    const dir = join(root, `sentinel-${i}`);
    mkdirSync(dir, { recursive: true });
    const lines = [
      `port ${sentinelPorts[i]}`,
      "bind 127.0.0.1",
      `dir ${JSON.stringify(dir)}`,
      "protected-mode no",
      `logfile ${JSON.stringify(join(dir, "sentinel.log"))}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort0} ${Math.floor(count / 2) + 1}`,
      `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1_000}`,
      `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 5_000}`,
      `sentinel parallel-syncs ${name} 1`,
    ];
    if (admin)
      lines.push(`sentinel auth-user ${name} ${admin.username}`, `sentinel auth-pass ${name} ${admin.password}`);
    // The sentinel rewrites this file with what it learns (replicas, other sentinels, the epoch).
    const conf = join(dir, "sentinel.conf");
    writeFileSync(conf, `${lines.join("\n")}\n`);
    return conf;
  };
  const bin = process.env.REDIS_SERVER_BIN ?? "redis-server";
  const started: ServerHandle[] = [];
  const disposeAll = async () => {
    await Promise.all(started.map((h) => h.kill()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const nodes: ServerHandle[] = [];
    for (let i = 0; i < 2; i++) {
      const conf = dataConf(i);
      const h = await launcher(`redis-${i}`, bin, () => [conf], "redis", {
        port: dataPorts[i],
        dir: join(root, `redis-${i}`),
      })();
      started.push(h);
      nodes.push(h);
    }
    const sentinels: ServerHandle[] = [];
    for (let i = 0; i < count; i++) {
      const conf = sentinelConf(i);
      const h = await launcher(`sentinel-${i}`, bin, () => [conf, "--sentinel"], "redis", {
        port: sentinelPorts[i],
        dir: join(root, `sentinel-${i}`),
      })();
      started.push(h);
      sentinels.push(h);
    }
    const masterPort = async (): Promise<number> => {
      let lastErr: unknown;
      for (const s of sentinelPorts) {
        try {
          const addr = (await ask(s, (r) => r.call("SENTINEL", "get-master-addr-by-name", name))) as
            | [string, string]
            | null;
          if (addr) return Number(addr[1]);
        } catch (err) {
          lastErr = err;
        }
      }
      throw new Error(`no sentinel named the master of ${name}${lastErr ? `: ${String(lastErr)}` : ""}`);
    };
    const role = (port: number) => ask(port, async (r) => ((await r.call("ROLE")) as [string])[0], admin);
    const set: RedisSentinelSet = {
      name,
      nodes,
      sentinels,
      sentinelAddrs: sentinelPorts.map((p) => `127.0.0.1:${p}`),
      admin,
      masterPort,
      master: async () => {
        const port = await masterPort();
        const h = nodes.find((n) => n.port === port);
        if (!h) throw new Error(`the sentinels name port ${port}, which is none of the data nodes`);
        return h;
      },
      killMaster: async () => {
        const h = await set.master();
        await h.kill();
        return h;
      },
      failedOver: (oldPort, timeout = 30_000) =>
        waitFor(
          `a sentinel failover away from port ${oldPort}`,
          async () => {
            const port = await masterPort();
            return port !== oldPort && (await role(port)) === "master" ? port : undefined;
          },
          { timeout, interval: 100 },
        ),
      settled: async (timeout = 30_000) => {
        // Each unmet condition throws what it saw, so a timeout names the last one.
        try {
          await waitFor(
            "every sentinel sees the replica and the other sentinels, the replica in sync",
            async () => {
              const master = await masterPort();
              const replica = nodes.find((n) => n.port !== master);
              if (!replica) throw new Error(`the sentinels name port ${master}, and no other data node is left`);
              const info = await ask(replica.port, (r) => r.info("replication"), admin);
              const link = /master_link_status:(\w+)/.exec(info)?.[1] ?? "absent";
              if (link !== "up") throw new Error(`the replica on ${replica.port} has master_link_status ${link}`);
              for (const s of sentinelPorts) {
                const seen = await ask(s, async (r) => {
                  const replicas = (await r.call("SENTINEL", "replicas", name)) as string[][];
                  const others = (await r.call("SENTINEL", "sentinels", name)) as string[][];
                  const flags = replicas.map((fields) => fields[fields.indexOf("flags") + 1] ?? "");
                  return { flags, others: others.length };
                });
                if (seen.flags.length !== 1 || seen.flags.some((f) => f !== "slave") || seen.others !== count - 1)
                  throw new Error(
                    `sentinel on ${s} sees replicas [${seen.flags.join("; ")}] and ${seen.others} of ${count - 1} other sentinels (master ${master})`,
                  );
              }
              return true;
            },
            { timeout, interval: 200 },
          );
        } catch (err) {
          const events = sentinelPorts.map((p, i) => {
            const log = join(root, `sentinel-${i}`, "sentinel.log");
            const lines = existsSync(log) ? readFileSync(log, "utf8").split("\n") : [];
            const tail = lines.filter((l) => /[+-](sdown|odown|failover|slave|sentinel|switch-master|monitor)/.test(l));
            return `sentinel on ${p}:\n  ${tail.slice(-12).join("\n  ") || "(no events logged)"}`;
          });
          throw new Error(`${err instanceof Error ? err.message : String(err)}\n${events.join("\n")}`);
        }
      },
      dispose: disposeAll,
    };
    // Sentinels find the replica from the master's INFO every 10 s and each other every 2 s:
    // usually within 15 s, but once over 30 s beside the whole test suite.
    await set.settled(60_000);
    return set;
  } catch (err) {
    await disposeAll();
    throw err;
  }
}
