import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

export interface ServerHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Graceful stop (SIGTERM) and wait for exit. Data is kept for restart(). */
  stop(): Promise<void>;
  /** kill -9 and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stop and delete the data folder. */
  dispose(): Promise<void>;
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Runs `bin` with the arguments `argsFor` gives, ready when `port` accepts connections (the kits' shared launcher). */
export function launcher(
  name: string,
  bin: string,
  argsFor: (port: number, dir: string) => string[],
  scheme: string,
  opts: { port?: number; dir?: string; env?: NodeJS.ProcessEnv } = {},
) {
  return async (): Promise<ServerHandle> => {
    const port = opts.port ?? (await freePort());
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `mirror-${name}-`));
    let child: ChildProcess | undefined;
    let stderr = "";
    const start = async () => {
      stderr = "";
      child = spawn(bin, argsFor(port, dir), { stdio: ["ignore", "ignore", "pipe"], env: opts.env });
      child.stderr?.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      child.once("error", (err) => {
        stderr += String(err);
      });
      const c = child;
      await waitFor(
        `${name} on port ${port}`,
        async () => {
          if (c.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
          return canConnect(port);
        },
        { timeout: 15_000 },
      );
    };
    const halt = async (signal: NodeJS.Signals) => {
      if (!child) return;
      const c = child;
      child = undefined;
      c.kill(signal);
      await exited(c);
    };
    await start();
    return {
      url: `${scheme}://127.0.0.1:${port}`,
      port,
      dir,
      stop: () => halt("SIGTERM"),
      kill: () => halt("SIGKILL"),
      restart: async () => {
        await halt("SIGTERM");
        await start();
      },
      dispose: async () => {
        await halt("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

/** Starts a private nats-server with JetStream on a free port (data in a temp folder). */
export function startNats(
  opts: { port?: number; dir?: string; config?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<ServerHandle> {
  return launcher(
    "nats",
    process.env.NATS_SERVER_BIN ?? "nats-server",
    (port, dir) => {
      const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dir, "js")];
      if (opts.config) {
        const conf = join(dir, "server.conf");
        writeFileSync(conf, opts.config);
        args.push("-c", conf);
      }
      return [...args, ...(opts.args ?? [])];
    },
    "nats",
    opts,
  )();
}

/** Starts a private redis-server on a free port (no persistence unless asked). */
export function startRedis(
  opts: { port?: number; dir?: string; appendonly?: boolean; args?: string[] } = {},
): Promise<ServerHandle> {
  return launcher(
    "redis",
    process.env.REDIS_SERVER_BIN ?? "redis-server",
    (port, dir) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      opts.appendonly ? "yes" : "no",
      "--protected-mode",
      "no",
      ...(opts.args ?? []),
    ],
    "redis",
    opts,
  )();
}
