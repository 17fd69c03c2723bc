/** Resident memory of the mesh's service processes, read from /proc (Linux). */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { REPO_ROOT, runsService } from "@mirror/testkit";
import { sleep } from "./load.js";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Every process below `root` (any depth), with its command line. */
function descendants(root: number): { pid: number; cmd: string }[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    // The command name may hold spaces and parentheses: fields start after the last ")".
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) : Number.NaN;
    if (Number.isFinite(ppid)) parent.set(Number(name), ppid);
  }
  const out: { pid: number; cmd: string }[] = [];
  for (const pid of parent.keys()) {
    let p: number | undefined = pid;
    for (let depth = 0; p !== undefined && p > 1 && depth < 20; depth++) {
      p = parent.get(p);
      if (p === root) {
        out.push({ pid, cmd: (read(`/proc/${pid}/cmdline`) ?? "").replaceAll("\0", " ") });
        break;
      }
    }
  }
  return out;
}

/** The pid of each service process under `root` (the `pnpm start` supervisor), by service name. */
export function servicePids(root: number, names: readonly string[]): Map<string, number> {
  const found = new Map<string, number>();
  for (const { pid, cmd } of descendants(root)) {
    const name = names.find((n) => runsService(cmd, n));
    if (name) found.set(name, pid);
  }
  return found;
}

/** The pid of a nats-server or redis-server this process started on `port`. */
export function serverPid(port: number): number | undefined {
  return descendants(process.pid).find(
    ({ cmd }) =>
      (cmd.startsWith("nats-server") && cmd.includes(` -p ${port} `)) ||
      (cmd.startsWith("redis-server") && cmd.includes(`:${port}`)),
  )?.pid;
}

/** CPU time (user + system) a process has used so far, in ms; NaN when it is gone. */
export function cpuMs(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return Number.NaN;
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * A process's write system calls so far (all threads: /proc/<pid>/io `syscw`) and how often its
 * threads blocked (summed voluntary context switches: each is a sleep ended by a wake-up). On a
 * small VM a write that wakes its reader and a sleep that another process's write ends are most
 * of what a message costs, so these count the cost model's other unit. NaN when it is gone.
 */
export function sysCounts(pid: number): { writes: number; wakeups: number } {
  const io = /syscw:\s+(\d+)/.exec(read(`/proc/${pid}/io`) ?? "");
  let wakeups = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { writes: Number.NaN, wakeups: Number.NaN };
  }
  for (const t of tasks) {
    const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(read(`/proc/${pid}/task/${t}/status`) ?? "");
    if (m) wakeups += Number(m[1]);
  }
  return { writes: io ? Number(io[1]) : Number.NaN, wakeups };
}

/** VmRSS of a process in MB, or NaN when it is gone. */
export function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? "");
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Samples the RSS of each service every `everyMs` until stopped; returns the peak per service. */
export function rssSampler(root: number, names: readonly string[], everyMs = 200) {
  const peak = new Map<string, number>();
  const sample = () => {
    for (const [name, pid] of servicePids(root, names)) {
      const mb = rssMB(pid);
      if (Number.isFinite(mb)) peak.set(name, Math.max(peak.get(name) ?? 0, mb));
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop(): Map<string, number> {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/**
 * The floor every service stands on: an idle plain Node process (`pnpm start` runs each service
 * from its bundle on plain node, without the TypeScript loader), measured after it settled.
 */
export async function bareNodeRss(maxMs = 10_000): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { cwd: REPO_ROOT, stdio: "ignore" });
  try {
    // Settled: two readings half a second apart within 1 MB (a loaded machine starts slowly).
    const end = performance.now() + maxMs;
    let last = Number.NaN;
    for (;;) {
      await sleep(500);
      const now = rssMB(child.pid ?? 0);
      if (Math.abs(now - last) < 1 || performance.now() > end) return now;
      last = now;
    }
  } finally {
    child.kill();
  }
}
