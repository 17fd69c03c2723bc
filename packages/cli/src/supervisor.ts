import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

export interface Supervised {
  name: string;
  /** Arguments to `node` (flags, then the script). */
  args: string[];
  /**
   * The services one process runs (`--single`): each JSON line is labelled by its `service`
   * field when it names one of them, so the output reads as with one process per service.
   */
  labels?: string[];
  /**
   * Run `args[0]` (a script, arguments after it) in a worker thread of this process instead of a
   * child process: no second Node runtime in memory (~40 MB RSS). An uncaught error still ends
   * only the worker, which is restarted like a process; it stops on a message, not a signal.
   */
  thread?: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number };
}

/** A running child process or worker thread, as the supervisor sees it. */
interface Run {
  readonly output: Readable[];
  onExit(f: (code: number | null, signal: string | null) => void): void;
  readonly done: boolean;
  /** Asks it to stop (SIGTERM, or a stop message to a worker). */
  stop(): void;
  /** Ends it now. */
  kill(): void;
  /** Passes a signal on (to a worker as a message: it emits it on its `process`). */
  signal(sig: NodeJS.Signals): void;
}

function processRun(svc: Supervised, env: NodeJS.ProcessEnv, cwd: string): Run {
  const child = spawn(process.execPath, svc.args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  return {
    output: [child.stdout, child.stderr],
    onExit: (f) => void child.once("exit", f),
    get done() {
      return child.exitCode !== null || child.signalCode !== null;
    },
    stop: () => void child.kill("SIGTERM"),
    kill: () => void child.kill("SIGKILL"),
    signal: (sig) => void child.kill(sig),
  };
}

function threadRun(svc: Supervised, env: NodeJS.ProcessEnv, write: (line: string) => void): Run {
  const [script, ...argv] = svc.args;
  const worker = new Worker(pathToFileURL(script as string), {
    argv,
    env: { ...env },
    stdout: true,
    stderr: true,
    resourceLimits: svc.thread,
  });
  let done = false;
  worker.once("exit", () => void (done = true));
  // An uncaught error ends the worker (then "exit" with code 1): said here, as a process would on stderr.
  worker.on("error", (err) => {
    for (const line of String(err.stack ?? err).split("\n")) write(`uncaught: ${line}`);
  });
  return {
    output: [worker.stdout, worker.stderr],
    onExit: (f) => void worker.once("exit", (code) => f(code, null)),
    get done() {
      return done;
    },
    stop: () => worker.postMessage({ t: "stop" }),
    kill: () => void worker.terminate(),
    signal: (sig) => worker.postMessage({ t: "signal", signal: sig }),
  };
}

const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];

/** What the supervisor does with each line a service writes, besides passing it on. */
export interface OutputOptions {
  /** Rewrites a line before it is written (pino-pretty on a terminal); its lines each get the prefix. */
  format?: (line: string) => string;
  /** Sees every line as the service wrote it (the readiness summary reads the JSON records). */
  watch?: (line: string) => void;
  /** Called after a service ended (not on a stop), once `running` and `configError` say so. */
  onExit?: () => void;
}

/**
 * Runs each service as its own process: prefixed output, restart on crash with backoff
 * (a config error, exit 2, is not restarted), and a clean stop on Ctrl-C.
 */
export class Supervisor {
  private readonly children = new Map<string, Run>();
  private stopping = false;
  private readonly width: number;
  configError = false;

  constructor(
    private readonly services: Supervised[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly cwd: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly output: OutputOptions = {},
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
    const prefix = this.prefix(svc.name, index);
    const labels = new Map((svc.labels ?? []).map((n, i) => [n, this.prefix(n, i)]));
    const label = (line: string) =>
      (labels.size ? labels.get(/^\{.*?"service":"([^"]+)"/.exec(line)?.[1] ?? "") : undefined) ?? prefix;
    const child = svc.thread
      ? threadRun(svc, this.env, (line) => this.out.write(`${prefix}${line}\n`))
      : processRun(svc, this.env, this.cwd);
    this.children.set(svc.name, child);
    for (const stream of child.output) {
      createInterface({ input: stream }).on("line", (line) => {
        this.output.watch?.(line);
        const at = label(line);
        const text = this.output.format ? this.output.format(line).replace(/\n$/, "").split("\n") : [line];
        this.out.write(`${text.map((l) => `${at}${l}`).join("\n")}\n`);
      });
    }
    child.onExit((code, signal) => {
      this.children.delete(svc.name);
      if (this.stopping) return;
      if (code === 2) {
        this.out.write(`${prefix}exited with a config error (2); not restarting\n`);
        this.configError = true;
        this.output.onExit?.();
        return;
      }
      const next = Date.now() - started > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(next, 6));
      this.out.write(`${prefix}exited (${signal ?? code}); restarting in ${delay}ms\n`);
      this.output.onExit?.();
      setTimeout(() => {
        if (!this.stopping) this.spawn(svc, index, next);
      }, delay).unref();
    });
  }

  /** Passes `sig` on to every service (SIGHUP: each reloads mirror.yaml). */
  signal(sig: NodeJS.Signals): void {
    for (const c of this.children.values()) if (!c.done) c.signal(sig);
  }

  get running(): number {
    return this.children.size;
  }

  /** SIGTERM everyone (a stop message to a worker), SIGKILL what is left after the grace period. */
  async stop(graceMs = 6_000): Promise<void> {
    this.stopping = true;
    const waits = [...this.children.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.done) return resolve();
          c.onExit(() => resolve());
          c.stop();
        }),
    );
    const timer = setTimeout(() => {
      for (const c of this.children.values()) c.kill();
    }, graceMs);
    await Promise.all(waits);
    clearTimeout(timer);
  }
}
