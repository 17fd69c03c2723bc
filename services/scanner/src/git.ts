import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { GitHelpers, type HelperError, type HelperResult } from "./git-helper.js";

/** A git command that failed; `stderr` is trimmed and never holds secrets we add. */
export class GitError extends Error {
  override name = "GitError";
  readonly code = "MIRROR_ERR_GIT";
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

export interface GitOptions {
  /** Kill git after this long (a hung network filesystem must not stall the scan). */
  timeoutMs?: number;
  /** Largest stdout accepted; a bigger one fails the command. */
  maxBuffer?: number;
  /**
   * Extra config as (key, value) pairs, passed through GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n:
   * unlike `-c key=value` a key from a repo (a filter driver's name) may hold any character.
   */
  config?: ReadonlyArray<readonly [string, string]>;
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Settings that make a scan invisible to the owner and inert: no optional locks (status
 * would otherwise refresh the index and take index.lock), no fsmonitor or hook program
 * from the repo's config, no pager, no prompts.
 */
const SAFE_CONFIG = ["core.fsmonitor=false", "core.hooksPath=/dev/null", "core.pager=cat", "core.askPass=", "credential.helper=", "protocol.ext.allow=never"];

const SAFE_ENV: NodeJS.ProcessEnv = {
  GIT_OPTIONAL_LOCKS: "0",
  GIT_TERMINAL_PROMPT: "0",
  GIT_PAGER: "cat",
  GIT_ASKPASS: "",
  SSH_ASKPASS: "",
  LC_ALL: "C",
  LANG: "C",
};

const REDIRECTING = /^GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|COMMON_DIR|CEILING_DIRECTORIES|NAMESPACE|EXTERNAL_DIFF|CONFIG_PARAMETERS|CONFIG_COUNT|CONFIG_KEY_\d+|CONFIG_VALUE_\d+)$/;
let baseEnv: NodeJS.ProcessEnv | undefined;

/**
 * The environment git runs with: the caller's, minus variables that would redirect it to
 * another repo or inject config. Built once (reading process.env is slow, and it is the same
 * for every call), then copied with the per-call config added.
 */
export function gitEnv(config: ReadonlyArray<readonly [string, string]> = []): NodeJS.ProcessEnv {
  baseEnv ??= Object.fromEntries(Object.entries({ ...process.env, ...SAFE_ENV }).filter(([k]) => !REDIRECTING.test(k)));
  if (config.length === 0) return baseEnv;
  const env: NodeJS.ProcessEnv = { ...baseEnv, GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/** The argument vector for one git call: safety flags, then `-c` settings, then the subcommand. */
export function gitArgs(cwd: string, args: readonly string[]): string[] {
  // safe.directory: a repo owned by another user (a mounted folder in a container) is
  // otherwise refused; we only read it, with every program-running setting disabled above.
  const config = [...SAFE_CONFIG, `safe.directory=${cwd}`];
  return ["--no-optional-locks", ...config.flatMap((c) => ["-c", c]), ...args];
}

let gitPath: string | undefined;

/**
 * git's absolute path, looked up once on PATH (absolute entries only). Spawning "git" makes the
 * child try every PATH entry before git's own, and Node's spawn blocks the event loop until the
 * child's exec succeeds; with several entries ahead of git's folder that is paid on every call.
 */
export function gitBinary(): string {
  if (gitPath) return gitPath;
  if (process.platform === "win32") return "git";
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const path = join(dir, "git");
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return (gitPath = path);
    } catch {
      // not in this folder
    }
  }
  return "git";
}

let helpers: GitHelpers | undefined;

/** The process's git helpers (see git-helper.ts), made on first use. */
function gitHelpers(): GitHelpers {
  helpers ??= new GitHelpers(gitBinary(), () => gitEnv());
  return helpers;
}

/** Ends the idle git helpers (a stopping scanner; they also exit on their own when this process does). */
export function closeGitHelpers(): void {
  helpers?.close();
}

/**
 * Runs git in `cwd` (never via -C, so no repo-derived value is placed where options are read).
 * Calls without per-call environment go through a git helper (no fork of this process); the
 * rest, and any call a helper cannot take, spawn git directly.
 */
export async function runGit(cwd: string, args: readonly string[], opts: GitOptions = {}): Promise<Buffer> {
  const full = gitArgs(cwd, args);
  const h = !opts.env && !opts.config?.length && gitBinary() !== "git" ? gitHelpers() : undefined;
  if (h?.accepts(cwd, full)) {
    let r: HelperResult | undefined;
    try {
      r = await h.run(cwd, full, opts.timeoutMs ?? 30_000);
    } catch (err) {
      if ((err as HelperError).timedOut) throw new GitError(`git ${args[0]} failed (timed out)`, null, "", err);
      // The helper could not start or died under this call: spawn git directly instead.
    }
    if (r) return helperOutcome(args, r, opts.maxBuffer ?? DEFAULT_MAX_BUFFER);
  }
  return execGit(cwd, full, args, opts);
}

const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;

const lastLines = (stderr: string) => stderr.trim().split("\n").slice(-3).join(" ").slice(0, 500);

/** The helper's result as execFile's callers knew it: stdout, or a GitError naming why. */
function helperOutcome(args: readonly string[], r: HelperResult, maxBuffer: number): Buffer {
  if (r.code === 0 && r.stdout.length <= maxBuffer) return r.stdout;
  const text = lastLines(r.stderr);
  if (r.code === 0) throw new GitError(`git ${args[0]} failed (ERR_CHILD_PROCESS_STDIO_MAXBUFFER)`, null, text);
  throw new GitError(`git ${args[0]} failed (exit ${r.code})${text ? `: ${text}` : ""}`, r.code, text);
}

function execGit(cwd: string, full: string[], args: readonly string[], opts: GitOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      gitBinary(),
      full,
      { cwd, env: opts.env ? { ...gitEnv(opts.config), ...opts.env } : gitEnv(opts.config), encoding: "buffer", timeout: opts.timeoutMs ?? 30_000, maxBuffer: opts.maxBuffer ?? DEFAULT_MAX_BUFFER, windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        const text = lastLines(stderr.toString("utf8"));
        const why = e.killed ? "timed out" : typeof e.code === "number" ? `exit ${e.code}` : String(e.code ?? e.message);
        reject(new GitError(`git ${args[0]} failed (${why})${text ? `: ${text}` : ""}`, typeof e.code === "number" ? e.code : null, text, err));
      },
    );
  });
}
