// `pnpm start`'s resident process (packages/cli/bin/mirror.mjs runs it from the CLI bundle): forks
// `mirror start` as a preparation step (config, identity, provisioning, bundling: the config
// schemas, the NATS client and esbuild live only there), starts the embedded servers it asks
// for, and supervises the services it hands over. Only node built-ins and run-mesh.ts here.
import { type ChildProcess, fork } from "node:child_process";
import { type MeshPlan, startServer, stopAll, superviseMesh } from "./run-mesh.js";
import type { StartMessage } from "./start-host.js";

const say = (msg: string) => process.stdout.write(`mirror: ${msg}\n`);

/** Runs `mirror start ARGS` with `main` (the CLI entry) as its preparation step; resolves with the exit code. */
export function runLean(args: string[], main: string): Promise<number> {
  const embedded: ChildProcess[] = [];
  let interrupted = false;
  const child = fork(main, ["start", ...args], {
    env: { ...process.env, MIRROR_START_PREPARE: "1" },
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
  // Ctrl-C reaches the preparation step too (same process group); a SIGTERM to this process only is passed on.
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    child.kill(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return new Promise<number>((resolve) => {
    let plan: MeshPlan | undefined;
    const reply = (id: number, ok: boolean) =>
      child.connected && child.send({ t: "done", id, ok } satisfies StartMessage);
    child.on("message", (m: StartMessage) => {
      if (m.t === "server") void startServer(m.plan, embedded, say).then((ok) => reply(m.id, ok));
      else if (m.t === "stop-servers") void stopAll(embedded).then(() => reply(m.id, true));
      else if (m.t === "plan") {
        plan = m.plan;
        reply(m.id, true);
      }
    });
    child.once("exit", (code, signal) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (plan && !interrupted) return void superviseMesh(plan, embedded, say, main).then(resolve);
      void stopAll(embedded).then(() => {
        if (interrupted) say("stopped");
        resolve(interrupted ? 0 : (code ?? (signal ? 1 : 0)));
      });
    });
  });
}
