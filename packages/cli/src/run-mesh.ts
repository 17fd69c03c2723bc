import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { holdBundle } from "./bundle.js";
import { reachable, restartOnExit, startEmbedded, stopRequested } from "./embedded.js";
import { logFormat, prettyFormatter } from "./start-output.js";
import { StartSummary } from "./start-summary.js";
import { type Supervised, Supervisor } from "./supervisor.js";

// What `pnpm start` keeps running once the mesh is up: the embedded servers and the supervisor.
// Only node built-ins and small modules here, so that the process that stays resident (see
// start-lean.ts) does not hold the config schemas, the NATS client or esbuild.

/** An embedded nats-server or redis-server to start (`conf`: NATS config or Redis ACL file). */
export interface ServerPlan {
  kind: "nats" | "redis";
  bin: "nats-server" | "redis-server";
  port: number;
  dataRoot: string;
  conf?: string;
}

/** What the supervisor runs once the mesh is prepared. */
export interface MeshPlan {
  services: Supervised[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  names: string[];
  /** The bundle folder the services run from (kept from pruning while they run). */
  bundle?: string;
}

type Say = (msg: string) => void;

/** Starts an embedded server and waits until it accepts connections (restarted if it dies later); false if it did not start. */
export async function startServer(plan: ServerPlan, embedded: ChildProcess[], say: Say): Promise<boolean> {
  // nats-server's monitoring endpoint (/varz, /jsz, /healthz) on 127.0.0.1 at the port + 4000
  // (4222 -> 8222, its usual pair) + MIRROR_PORT_OFFSET (start.ts checked it), when that port is
  // free: a busy one would stop it starting.
  const monitorPort = plan.port + 4000 + (Number(process.env.MIRROR_PORT_OFFSET?.trim()) || 0);
  const monitor =
    plan.kind === "nats" && monitorPort <= 65535 && !(await reachable("127.0.0.1", monitorPort, 200))
      ? monitorPort
      : undefined;
  if (monitor) say(`the embedded nats-server's monitoring endpoint: http://127.0.0.1:${monitor}/varz`);
  const launch = () => startEmbedded(plan.kind, plan.port, plan.dataRoot, plan.conf, monitor);
  const child = launch();
  embedded.push(child);
  const deadline = Date.now() + 10_000;
  while (!(await reachable("127.0.0.1", plan.port, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      process.stderr.write(`mirror: the embedded ${plan.bin} did not start (see ${join(plan.dataRoot, plan.kind)})\n`);
      return false;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  restartOnExit(embedded, embedded.length - 1, plan.bin, launch, say);
  return true;
}

export async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          stopRequested.add(c);
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
        }),
    ),
  );
}

/**
 * Runs the services under the supervisor until Ctrl-C / SIGTERM (exit 0, everything stopped), or
 * until they all ended on a config error (exit 2). `cli` is the `mirror` entry the ready summary
 * runs `mirror status` with (the bundle's main.mjs under `pnpm start`).
 */
export async function superviseMesh(
  plan: MeshPlan,
  embedded: ChildProcess[],
  say: Say,
  cli = process.argv[1] as string,
): Promise<number> {
  if (plan.bundle) holdBundle(plan.bundle);
  // Checked by `mirror start` before anything started; anything else is JSON.
  const pretty =
    logFormat(plan.env, process.stdout.isTTY) === "pretty"
      ? await prettyFormatter().catch(
          (err: Error) => void say(`pino-pretty did not load (${err.message}); the logs stay JSON`),
        )
      : undefined;
  const write = (text: string) => void process.stdout.write(text);
  const summary = new StartSummary(plan.names, { cli, env: plan.env, pretty: !!pretty, write });
  let exited: () => void = () => undefined;
  const sup = new Supervisor(plan.services, plan.env, plan.cwd, process.stdout, {
    ...(pretty ? { format: pretty } : {}),
    watch: (line) => summary.see(line),
    onExit: () => exited(),
  });
  sup.start();
  return new Promise<number>((resolveExit) => {
    let done = false;
    // No service runs any more and one ended on a config error: stop the servers and exit 2.
    // Looked at when a service ends (a 200 ms check before: 5 wake-ups a second, 0.13% of a core
    // at idle).
    exited = () => {
      if (sup.configError && sup.running === 0 && !done) {
        done = true;
        summary.stop();
        void stopAll(embedded).then(() => resolveExit(2));
      }
    };
    const stop = async (signal: string) => {
      if (done) return;
      done = true;
      // Ctrl-C reaches the embedded servers too: their exit now is no crash to restart from.
      for (const c of embedded) stopRequested.add(c);
      summary.stop();
      say(`${signal}: stopping ${plan.names.length} services`);
      await sup.stop();
      await stopAll(embedded);
      say("stopped");
      resolveExit(0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
    // `kill -HUP` of pnpm start reloads every service's config (it would otherwise end the supervisor).
    process.on("SIGHUP", () => {
      say("SIGHUP: passed to the services");
      sup.signal("SIGHUP");
    });
  });
}
