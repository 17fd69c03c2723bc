import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";

/** Whether something accepts TCP connections at host:port. */
export function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

export function onPath(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}

/** Host and port of a URL; of a comma-separated list (`bus.url` naming a cluster's nodes), the first. */
export function hostPort(url: string, defaultPort: number): { host: string; port: number; local: boolean } {
  const first = url.split(",")[0]?.trim() ?? "";
  const u = new URL(first.includes("://") ? first : `nats://${first}`);
  const host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  return {
    host,
    port: Number(u.port) || defaultPort,
    local: ["127.0.0.1", "localhost", "::1", "0.0.0.0"].includes(host),
  };
}

/**
 * The first server of a URL list that answers (`up`), else the first one. Only a single local URL
 * may get an embedded server: nothing answering at a list of cluster nodes is an error.
 */
export async function reachableServer(
  urls: string,
  defaultPort: number,
): Promise<{ host: string; port: number; local: boolean; up: boolean }> {
  const all = urls
    .split(",")
    .filter((u) => u.trim())
    .map((u) => hostPort(u, defaultPort));
  for (const hp of all) if (await reachable(hp.host, hp.port)) return { ...hp, up: true };
  const first = all[0] ?? hostPort(urls, defaultPort);
  return { ...first, local: first.local && all.length === 1, up: false };
}

/** `SENTINEL get-master-addr-by-name <name>` at one sentinel: the master's host and port, or undefined. */
export function sentinelMaster(
  addr: string,
  name: string,
  timeoutMs = 2_000,
): Promise<{ host: string; port: number } | undefined> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve) => {
    const s = connect({ host: addr.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(addr.slice(i + 1)) });
    let buf = "";
    const done = (v: { host: string; port: number } | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(undefined));
    s.once("error", () => done(undefined));
    s.once("connect", () =>
      s.write(`*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n$${Buffer.byteLength(name)}\r\n${name}\r\n`),
    );
    s.on("data", (d) => {
      buf += d.toString("utf8");
      const lines = buf.split("\r\n");
      // *2 $n host $n port, or a nil (*-1 / $-1) when it monitors no such master.
      if (/^[*$]-1/.test(lines[0] ?? "") || lines[0]?.startsWith("-")) done(undefined);
      else if (lines.length >= 5) done({ host: lines[2] as string, port: Number(lines[4]) });
    });
  });
}

/** The Redis URL the store reaches now: `store.url`, or with `store.sentinels` the master they name (with the URL's login). */
export async function storeUrlNow(store: {
  url: string;
  sentinels?: readonly string[];
  name: string;
}): Promise<{ url: string; viaSentinel: boolean; master?: { host: string; port: number } }> {
  if (!store.sentinels?.length) return { url: store.url, viaSentinel: false };
  for (const addr of store.sentinels) {
    const master = await sentinelMaster(addr, store.name);
    if (master) {
      const u = new URL(store.url);
      u.hostname = master.host;
      u.port = String(master.port);
      return { url: u.toString(), viaSentinel: true, master };
    }
  }
  return { url: store.url, viaSentinel: true };
}

/** The identity folder's users.acl, if it has one: the embedded Redis's users (the default one off). */
export function embeddedRedisAcl(dir: string | undefined): string | undefined {
  const file = dir ? join(dir, "users.acl") : undefined;
  return file && existsSync(file) ? file : undefined;
}

/**
 * Go's GC target for the embedded nats-server (a Go program): the heap may grow 50% over what is
 * live between collections instead of 100%, which keeps its idle RSS ~1.5 MB lower (18.5 -> 17 MB
 * with 100 repos and 100 checks, `pnpm bench footprint`). Its live heap at idle is a few MB, so the
 * extra collections cost little; a GOGC in the environment wins.
 */
export const EMBEDDED_NATS_GOGC = "50";

/**
 * Threads running Go code at once in the embedded nats-server. The mesh sends a few hundred
 * messages a second at most, far below what one core of nats-server carries (~12,000 JetStream
 * publishes and consumes a second on a 2-core VM, `jetstream.raw`); with one per core the Go
 * runtime hands each message's work between threads and wakes them for it. `pnpm bench pipeline`
 * with one: nats-server woke 6.3-6.9 times per event instead of 10.2-11.9 and used 0.40-0.42 ms
 * of CPU per event instead of 0.50-0.65 (docs/PERFORMANCE.md, "Sixth pass"). A GOMAXPROCS in the
 * environment wins.
 */
export const EMBEDDED_NATS_GOMAXPROCS = "1";

/** The environment of the embedded nats-server: the Go runtime settings above unless the environment sets them. */
export function embeddedNatsEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, GOGC: env.GOGC ?? EMBEDDED_NATS_GOGC, GOMAXPROCS: env.GOMAXPROCS ?? EMBEDDED_NATS_GOMAXPROCS };
}

/**
 * The embedded redis-server's background task rate: once a second instead of ten times (its
 * idle CPU 4 ticks in 30 s -> 0 here). Keys with a TTL are still expired when read; the active
 * expiry cycle and client-timeout checks run less often, and `appendfsync everysec` still syncs
 * every second (its event loop wakes at least that often).
 */
export const EMBEDDED_REDIS_HZ = "1";

/** The embedded default: nats-server and redis-server with data under .mirror/ (`conf`: NATS config or Redis ACL file). */
export function startEmbedded(
  kind: "nats" | "redis",
  port: number,
  dataRoot: string,
  conf?: string,
  monitorPort?: number,
): ChildProcess {
  const dir = join(dataRoot, kind);
  mkdirSync(dir, { recursive: true });
  // With an identity folder, the generated accounts.conf: every service its own key and permissions.
  const natsConf = kind === "nats" && conf ? ["-c", conf] : [];
  // -a 127.0.0.1 binds the monitoring port to loopback too.
  const monitor = kind === "nats" && monitorPort ? ["-m", String(monitorPort)] : [];
  const acl = kind === "redis" && conf ? ["--aclfile", conf] : [];
  const child =
    kind === "nats"
      ? spawn(
          "nats-server",
          [
            "-a",
            "127.0.0.1",
            "-p",
            String(port),
            "-js",
            "-sd",
            dir,
            "-l",
            join(dir, "nats-server.log"),
            ...monitor,
            ...natsConf,
          ],
          { stdio: "ignore", env: embeddedNatsEnv() },
        )
      : spawn(
          "redis-server",
          [
            "--port",
            String(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir,
            "--appendonly",
            "yes",
            "--save",
            "",
            "--hz",
            EMBEDDED_REDIS_HZ,
            "--logfile",
            join(dir, "redis.log"),
            ...acl,
          ],
          { stdio: "ignore" },
        );
  return child;
}

/** Embedded servers that `pnpm start` is stopping on purpose: their exit is not a crash. */
export const stopRequested = new WeakSet<ChildProcess>();

/**
 * Keeps `children[index]` running: an embedded server that dies unasked (kill -9, a crash) is
 * started again on the same port and data, with backoff, as the supervisor does for services.
 */
export function restartOnExit(
  children: ChildProcess[],
  index: number,
  bin: string,
  start: () => ChildProcess,
  say: (msg: string) => void,
  restarts = 0,
): void {
  const child = children[index] as ChildProcess;
  const started = Date.now();
  child.once("exit", (code, signal) => {
    if (stopRequested.has(child)) return;
    const next = Date.now() - started > 60_000 ? 0 : restarts + 1;
    const delay = Math.min(10_000, 250 * 2 ** Math.min(next, 6));
    say(`the embedded ${bin} exited (${signal ?? code}); restarting it in ${delay}ms`);
    setTimeout(() => {
      if (stopRequested.has(child)) return;
      children[index] = start();
      restartOnExit(children, index, bin, start, say, next);
    }, delay).unref();
  });
}
