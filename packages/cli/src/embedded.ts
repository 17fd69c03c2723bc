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

export function hostPort(url: string, defaultPort: number): { host: string; port: number; local: boolean } {
  const u = new URL(url.includes("://") ? url : `nats://${url}`);
  const host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  return { host, port: Number(u.port) || defaultPort, local: ["127.0.0.1", "localhost", "::1", "0.0.0.0"].includes(host) };
}

/** The identity folder's users.acl, if it has one: the embedded Redis's users (the default one off). */
export function embeddedRedisAcl(dir: string | undefined): string | undefined {
  const file = dir ? join(dir, "users.acl") : undefined;
  return file && existsSync(file) ? file : undefined;
}

/** The embedded default: nats-server and redis-server with data under .mirror/ (`conf`: NATS config or Redis ACL file). */
export function startEmbedded(kind: "nats" | "redis", port: number, dataRoot: string, conf?: string, monitorPort?: number): ChildProcess {
  const dir = join(dataRoot, kind);
  mkdirSync(dir, { recursive: true });
  // With an identity folder, the generated accounts.conf: every service its own key and permissions.
  const natsConf = kind === "nats" && conf ? ["-c", conf] : [];
  // -a 127.0.0.1 binds the monitoring port to loopback too.
  const monitor = kind === "nats" && monitorPort ? ["-m", String(monitorPort)] : [];
  const acl = kind === "redis" && conf ? ["--aclfile", conf] : [];
  const child =
    kind === "nats"
      ? spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir, "-l", join(dir, "nats-server.log"), ...monitor, ...natsConf], { stdio: "ignore" })
      : spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", "", "--logfile", join(dir, "redis.log"), ...acl], { stdio: "ignore" });
  return child;
}

/** Embedded servers that `pnpm start` is stopping on purpose: their exit is not a crash. */
export const stopRequested = new WeakSet<ChildProcess>();

/**
 * Keeps `children[index]` running: an embedded server that dies unasked (kill -9, a crash) is
 * started again on the same port and data, with backoff, as the supervisor does for services.
 */
export function restartOnExit(children: ChildProcess[], index: number, bin: string, start: () => ChildProcess, say: (msg: string) => void, restarts = 0): void {
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
