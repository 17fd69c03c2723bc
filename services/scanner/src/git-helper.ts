import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs git from small long-lived `sh` processes instead of forking this one for every call.
 *
 * Node's spawn forks the whole process (fork copies its page tables) and blocks the event loop
 * until the child has exec'd: ~0.8 ms of CPU per spawn from a 57 MB process, 2.2 ms from
 * 160 MB, 5.3 ms from 370 MB on the 2-core bench VM, against a `git status` of a small repo
 * that costs git ~2 ms. A helper is a few hundred KB of `sh`: it reads one request at a time
 * from its stdin (as data: `read -r`, never evaluated), forks a subshell that changes into the
 * repo and execs git with stdout and stderr in two files of its own temp folder, and writes the
 * exit status back as one line. The caller then reads the files.
 *
 * Requests are lines: the folder, the number of arguments, then one argument per line. A value
 * holding a newline or a NUL cannot be sent that way: `accepts()` says no and the caller spawns
 * git itself, as it does for calls with per-call environment (fetch). The per-repo overrides
 * (inert.ts) are arguments, so a scan of any repo still goes through a helper.
 */
const SCRIPT = `D=$1; G=$2; shift 2
while IFS= read -r cwd; do
  IFS= read -r n || exit 0
  set --
  while [ "$n" -gt 0 ]; do IFS= read -r a || exit 0; set -- "$@" "$a"; n=$((n - 1)); done
  (cd -- "$cwd" && exec "$G" "$@") >"$D/out" 2>"$D/err" </dev/null
  echo "$?"
done`;

const SH = "/bin/sh";

/** A child's pipe is a socket: it can stop keeping the event loop alive. */
const handle = (stream: unknown) => stream as { ref(): void; unref(): void };

export interface HelperResult {
  /** Exit status of git (128 + n when a signal n ended it; 2 when the folder could not be entered). */
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Why a call through a helper did not produce an exit status. */
export class HelperError extends Error {
  override name = "HelperError";
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

class Helper {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly dir: string;
  private buffered = "";
  private pending: { resolve: (code: number) => void; reject: (err: Error) => void } | undefined;
  dead = false;
  /** When it was last given back (performance.now()). */
  idleSince = 0;

  get pid(): number | undefined {
    return this.child.pid;
  }

  constructor(git: string, env: NodeJS.ProcessEnv) {
    this.dir = mkdtempSync(join(tmpdir(), "mirror-git-"));
    // Its own process group: a timeout kills the helper together with the git it is running.
    this.child = spawn(SH, ["-c", SCRIPT, "mirror-git-helper", this.dir, git], { env, stdio: "pipe", detached: true });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => this.onData(chunk));
    this.child.stderr.resume();
    this.child.stdin.on("error", () => undefined);
    this.child.on("error", (err) => this.fail(new HelperError(`git helper failed: ${err.message}`, false)));
    // The pool learns of it from `dead` when the helper is next taken or given back.
    this.child.on("exit", () => this.fail(new HelperError("git helper exited", false)));
    this.idle();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    const nl = this.buffered.indexOf("\n");
    if (nl < 0) return;
    const line = this.buffered.slice(0, nl);
    this.buffered = this.buffered.slice(nl + 1);
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const code = Number(line);
    if (Number.isInteger(code)) p.resolve(code);
    else p.reject(new HelperError(`git helper answered "${line.slice(0, 40)}"`, false));
  }

  private fail(err: Error): void {
    this.dead = true;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** While a request runs, the helper keeps this process alive; idle, it does not. */
  private busy(): void {
    this.child.ref();
    handle(this.child.stdout).ref();
  }

  private idle(): void {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) handle(s).unref();
  }

  async run(cwd: string, args: readonly string[], timeoutMs: number): Promise<HelperResult> {
    this.busy();
    let timer: NodeJS.Timeout | undefined;
    try {
      const code = await new Promise<number>((resolve, reject) => {
        this.pending = { resolve, reject };
        timer = setTimeout(() => {
          this.kill();
          reject(new HelperError("timed out", true));
        }, timeoutMs);
        this.child.stdin.write(`${cwd}\n${args.length}\n${args.join("\n")}\n`);
      });
      const [stdout, stderr] = await Promise.all([
        readFile(join(this.dir, "out")),
        readFile(join(this.dir, "err"), "utf8"),
      ]);
      return { code, stdout, stderr };
    } finally {
      clearTimeout(timer);
      if (!this.dead) this.idle();
    }
  }

  kill(): void {
    if (this.dead) return;
    this.dead = true;
    try {
      process.kill(-(this.child.pid ?? 0), "SIGKILL");
    } catch {
      this.child.kill("SIGKILL");
    }
  }

  close(): void {
    if (this.dead) return;
    this.child.stdin.end();
  }
}

/**
 * How long an unused helper stays: a scan pass reuses them from call to call, but between passes
 * (a stat-first pass at idle runs no git at all) each would hold ~3.4 MB of RSS for nothing.
 */
export const HELPER_IDLE_MS = 10_000;

/**
 * Helpers started on demand (at most `max` at once, idle ones kept for `idleMs`), shared by every
 * git call of the process.
 */
export class GitHelpers {
  /** The idle helpers, the least recently used first. */
  private readonly idle: Helper[] = [];
  private readonly waiting: Array<(h: Helper | undefined) => void> = [];
  /** Every helper alive now, idle or running a call (at most `max`). */
  private readonly live: Helper[] = [];
  private broken = false;
  private reaper: NodeJS.Timeout | undefined;

  constructor(
    private readonly git: string,
    private readonly env: () => NodeJS.ProcessEnv,
    readonly max = 16,
    private readonly idleMs = HELPER_IDLE_MS,
  ) {}

  /** The pids of the helpers alive now, idle or running a call. */
  get pids(): number[] {
    return this.live.map((h) => h.pid).filter((p): p is number => p !== undefined);
  }

  /** Whether a call can go through a helper (else the caller spawns git itself). */
  accepts(cwd: string, args: readonly string[]): boolean {
    if (this.broken || process.platform === "win32") return false;
    const bad = (s: string) => s.includes("\n") || s.includes("\0");
    return !bad(cwd) && !args.some(bad);
  }

  async run(cwd: string, args: readonly string[], timeoutMs: number): Promise<HelperResult> {
    const helper = await this.take();
    try {
      return await helper.run(cwd, args, timeoutMs);
    } finally {
      this.give(helper);
    }
  }

  private async take(): Promise<Helper> {
    while (this.idle.length) {
      const h = this.idle.pop() as Helper;
      if (!h.dead) return h;
      this.forget(h);
    }
    if (this.live.length < this.max) {
      try {
        const h = new Helper(this.git, this.env());
        this.live.push(h);
        return h;
      } catch (err) {
        // No temp folder or no sh: every later call spawns git itself.
        this.broken = true;
        throw new HelperError(`git helper could not start: ${(err as Error).message}`, false);
      }
    }
    const h = await new Promise<Helper | undefined>((resolve) => this.waiting.push(resolve));
    return h ?? this.take();
  }

  private give(h: Helper): void {
    if (h.dead) {
      this.forget(h);
      this.waiting.shift()?.(undefined);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(h);
    else {
      h.idleSince = performance.now();
      this.idle.push(h);
      this.reapLater();
    }
  }

  private forget(h: Helper): void {
    const i = this.live.indexOf(h);
    if (i >= 0) this.live.splice(i, 1);
  }

  /** Ends the helpers unused for `idleMs` (one timer while any is idle; it keeps no process alive). */
  private reapLater(): void {
    if (this.reaper) return;
    const oldest = this.idle[0];
    if (!oldest) return;
    const wait = Math.max(0, oldest.idleSince + this.idleMs - performance.now());
    this.reaper = setTimeout(() => {
      this.reaper = undefined;
      const now = performance.now();
      while (this.idle[0] && now - this.idle[0].idleSince >= this.idleMs) {
        const h = this.idle.shift() as Helper;
        h.close();
        this.forget(h);
      }
      this.reapLater();
    }, wait);
    this.reaper.unref();
  }

  /** Ends the idle helpers (each exits when its stdin closes). */
  close(): void {
    if (this.reaper) clearTimeout(this.reaper);
    this.reaper = undefined;
    for (const h of this.idle.splice(0)) {
      h.close();
      this.forget(h);
    }
  }
}
