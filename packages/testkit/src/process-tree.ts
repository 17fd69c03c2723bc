import { readdirSync, readFileSync } from "node:fs";
import type { Mesh } from "./mesh.js";
import { waitFor } from "./wait.js";

/** Direct children of `pid` (Linux /proc; every thread's children list). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Every descendant of `pid`, depth first. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendants(c));
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/**
 * The services a shared process runs (its manifest's `process`, or `--single` from source):
 * `pnpm start` runs `<bundle>/mirror-single.mjs` or `single-main.ts` with their names after it;
 * undefined for any other command line.
 */
export function sharedServices(cmd: string): string[] | undefined {
  return /\/(?:mirror-single\.mjs|single-main\.ts)((?:\s+[a-z][a-z0-9-]*)+)\s*$/.exec(cmd)?.[1]?.trim().split(/\s+/);
}

/**
 * Whether a command line runs service `name`: `pnpm start` runs `node <bundle>/<name>.mjs`,
 * or `node --import tsx services/<name>/src/main.ts` with MIRROR_FROM_SOURCE=1, or a shared
 * process with it among its services (sharedServices).
 */
export function runsService(cmd: string, name: string): boolean {
  return (
    cmd.includes(`services/${name}/src/main.ts`) ||
    new RegExp(`/${name.replace(/[-]/g, "\\-")}\\.mjs(\\s|$)`).test(cmd) ||
    (sharedServices(cmd)?.includes(name) ?? false)
  );
}

/**
 * The pid of the process running one service of a running mesh (the process it shares with others,
 * if its manifest names one), looked up only among the supervisor's descendants (other meshes may
 * run the same script on this machine).
 */
export function servicePid(mesh: Mesh, name: string): number | undefined {
  if (!mesh.child.pid) return undefined;
  return descendants(mesh.child.pid).find((p) => runsService(cmdline(p), name));
}

/** Resident memory of a process in bytes (VmRSS), or undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Lines of the mesh output written by one service (the supervisor prefixes `name | `). */
export function linesOf(mesh: Mesh, name: string, pattern: RegExp): string[] {
  const prefix = new RegExp(`^${name.replace(/[-]/g, "\\-")}\\s*\\| `);
  return mesh.output.filter((l) => prefix.test(l) && pattern.test(l));
}

/**
 * kill -9 of one service of the mesh (of its process: the others sharing it die too); waits until
 * the supervisor has restarted it and the new process logged "service started". Returns the old
 * and the new pid.
 */
export async function killService(
  mesh: Mesh,
  name: string,
  opts: { timeout?: number } = {},
): Promise<{ pid: number; next: number }> {
  const timeout = opts.timeout ?? 120_000;
  const pid = await waitFor(`${name} process`, () => servicePid(mesh, name), { timeout });
  const startedBefore = linesOf(mesh, name, /"msg":"service started"/).length;
  process.kill(pid, "SIGKILL");
  await waitFor(
    `${name} restarted after kill -9`,
    () => linesOf(mesh, name, /"msg":"service started"/).length > startedBefore,
    { timeout, interval: 100 },
  );
  const next = await waitFor(
    `${name} new pid`,
    () => {
      const p = servicePid(mesh, name);
      return p !== undefined && p !== pid ? p : undefined;
    },
    { timeout },
  );
  return { pid, next };
}
