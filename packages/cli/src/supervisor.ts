import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface Supervised {
  name: string;
  /** Arguments to `node` (flags, then the script). */
  args: string[];
  /**
   * The services one process runs (`--single`): each JSON line is labelled by its `service`
   * field when it names one of them, so the output reads as with one process per service.
   */
  labels?: string[];
}

const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];

/**
 * Runs each service as its own process: prefixed output, restart on crash with backoff
 * (a config error, exit 2, is not restarted), and a clean stop on Ctrl-C.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  private readonly width: number;
  configError = false;

  constructor(
    private readonly services: Supervised[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly cwd: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {
    this.width = Math.max(...services.flatMap((s) => [s.name, ...(s.labels ?? [])].map((n) => n.length)));
  }

  start(): void {
    for (const [i, s] of this.services.entries()) this.spawn(s, i, 0);
  }

  private prefix(name: string, i: number): string {
    const color = this.out === process.stdout && process.stdout.isTTY ? COLORS[i % COLORS.length] : undefined;
    const label = name.padEnd(this.width);
    return color ? `\u001b[${color}m${label}\u001b[0m | ` : `${label} | `;
  }

  private spawn(svc: Supervised, index: number, restarts: number): void {
    const started = Date.now();
    const child = spawn(process.execPath, svc.args, { cwd: this.cwd, env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    this.children.set(svc.name, child);
    const prefix = this.prefix(svc.name, index);
    const labels = new Map((svc.labels ?? []).map((n, i) => [n, this.prefix(n, i)]));
    const label = (line: string) => (labels.size ? labels.get(/^\{.*?"service":"([^"]+)"/.exec(line)?.[1] ?? "") : undefined) ?? prefix;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => this.out.write(`${label(line)}${line}\n`));
    }
    child.once("exit", (code, signal) => {
      this.children.delete(svc.name);
      if (this.stopping) return;
      if (code === 2) {
        this.out.write(`${prefix}exited with a config error (2); not restarting\n`);
        this.configError = true;
        return;
      }
      const next = Date.now() - started > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(next, 6));
      this.out.write(`${prefix}exited (${signal ?? code}); restarting in ${delay}ms\n`);
      setTimeout(() => {
        if (!this.stopping) this.spawn(svc, index, next);
      }, delay).unref();
    });
  }

  get running(): number {
    return this.children.size;
  }

  /** SIGTERM everyone, SIGKILL what is left after the grace period. */
  async stop(graceMs = 6_000): Promise<void> {
    this.stopping = true;
    const waits = [...this.children.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
        }),
    );
    const timer = setTimeout(() => {
      for (const c of this.children.values()) c.kill("SIGKILL");
    }, graceMs);
    await Promise.all(waits);
    clearTimeout(timer);
  }
}
