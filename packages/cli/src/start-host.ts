import type { ChildProcess } from "node:child_process";
import { type MeshPlan, type ServerPlan, startServer, stopAll, superviseMesh } from "./run-mesh.js";

/**
 * Where `mirror start` runs what outlives its preparation: the embedded servers and the
 * supervisor. In this process (run from source), or in the lean parent that forked this one as
 * its preparation step (start-lean.ts), so that the resident process holds none of it.
 */
export interface StartHost {
  startServer(plan: ServerPlan): Promise<boolean>;
  stopServers(): Promise<void>;
  /** Runs the mesh (in process: until it stops, then its exit code; with a parent: hands it over, 0). */
  supervise(plan: MeshPlan): Promise<number>;
}

export function inProcessHost(say: (msg: string) => void): StartHost {
  const embedded: ChildProcess[] = [];
  return {
    startServer: (plan) => startServer(plan, embedded, say),
    stopServers: () => stopAll(embedded),
    supervise: (plan) => superviseMesh(plan, embedded, say),
  };
}

/** What the preparation step and the lean parent say to each other over the IPC channel. */
export type StartMessage =
  | { t: "server"; id: number; plan: ServerPlan }
  | { t: "stop-servers"; id: number }
  | { t: "plan"; id: number; plan: MeshPlan }
  | { t: "done"; id: number; ok: boolean };

export function parentHost(): StartHost {
  let next = 0;
  const ask = (msg: StartMessage) =>
    new Promise<boolean>((resolve, reject) => {
      const onMessage = (m: StartMessage) => {
        if (m.t !== "done" || m.id !== msg.id) return;
        process.off("message", onMessage);
        resolve(m.ok);
      };
      process.on("message", onMessage);
      process.send?.(msg, undefined, undefined, (err) => err && reject(err));
    });
  return {
    startServer: (plan) => ask({ t: "server", id: ++next, plan }),
    stopServers: async () => void (await ask({ t: "stop-servers", id: ++next })),
    supervise: async (plan) => ((await ask({ t: "plan", id: ++next, plan })) ? 0 : 1),
  };
}
