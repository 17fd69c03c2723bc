import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { MirrorError } from "@mirror/contracts";
import { GitHelpers, type HelperError, type HelperResult } from "./git-helper.js";

/** A git command that failed; `stderr` is trimmed and never holds secrets we add. */
export class GitError extends MirrorError {
  override name = "GitError";
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    cause?: unknown,
  ) {
    super("MIRROR_ERR_GIT", message, { cause });
  }
}

export interface GitOptions {
  /** Kill git after this long (a hung network filesystem must not stall the scan). */
  timeoutMs?: number;
  /** Largest stdout accepted; a bigger one fails the command. */
  maxBuffer?: number;
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv;
  /** The repo's own global options (inert.ts): go before the subcommand. */
  repoConfig?: readonly string[];
}

/**
 * Settings every git call gets, as command-line config (which beats every config file): no
 * optional locks (status would otherwise refresh the index and take index.lock), and no program
 * from anywhere: no fsmonitor, hooks, pager, editor, askpass, credential helper, external diff,
 * alternate-refs command, no cookie file written where the repo says, and no transport at all: a scan needs none, and a partial clone's
 * status would otherwise fetch a missing blob with the repo's own upload-pack (which no config
 * override replaces: git keeps the first). A fetch allows git's own transports (FETCH_TRANSPORTS).
 * The per-repo names (filter and diff drivers, remotes, protocols) are added by inert.ts.
 */
const SAFE_CONFIG = [
  "core.fsmonitor=false",
  "core.hooksPath=/dev/null",
  "core.pager=cat",
  "core.editor=:",
  "sequence.editor=:",
  "core.askPass=",
  "credential.helper=",
  "diff.external=",
  "core.alternateRefsCommand=",
  "log.showSignature=false",
  "ssh.variant=ssh",
  "protocol.allow=never",
  "protocol.file.allow=never",
  "protocol.git.allow=never",
  "protocol.ssh.allow=never",
  "protocol.http.allow=never",
  "protocol.https.allow=never",
  "protocol.ext.allow=never",
  "submodule.recurse=false",
  "gc.auto=0",
  "maintenance.auto=false",
  "http.saveCookies=false",
  "http.cookieFile=",
];

/** What a fetch allows on top: git's own transports (never `ext::` or a `<helper>::` program). */
export const FETCH_TRANSPORTS = ["file", "git", "ssh", "http", "https"].flatMap((p) => [
  "-c",
  `protocol.${p}.allow=always`,
]);

/** Environment variables holding the fixed values `--config-env` overrides point at (see inert.ts). */
export const INERT_ENV = {
  empty: "MIRROR_GIT_EMPTY",
  false: "MIRROR_GIT_FALSE",
  never: "MIRROR_GIT_NEVER",
} as const;

/**
 * What git's environment adds. Each variable here beats the config key that would name a
 * program (GIT_SSH_COMMAND over core.sshCommand, GIT_ASKPASS over core.askPass, an empty
 * GIT_PROXY_COMMAND over core.gitProxy, GIT_PAGER and GIT_EDITOR over theirs).
 */
const SAFE_ENV: NodeJS.ProcessEnv = {
  GIT_OPTIONAL_LOCKS: "0",
  GIT_TERMINAL_PROMPT: "0",
  GIT_PAGER: "cat",
  GIT_EDITOR: ":",
  GIT_SEQUENCE_EDITOR: ":",
  GIT_ASKPASS: "",
  SSH_ASKPASS: "",
  GIT_PROXY_COMMAND: "",
  GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
  [INERT_ENV.empty]: "",
  [INERT_ENV.false]: "false",
  [INERT_ENV.never]: "never",
  LC_ALL: "C",
  LANG: "C",
};

let baseEnv: NodeJS.ProcessEnv | undefined;

/**
 * The environment git runs with: the caller's without any GIT_* variable (one left by a hook or
 * a shell could redirect git to another repo, inject config or name a program:
 * GIT_CONFIG_PARAMETERS, GIT_EXTERNAL_DIFF, GIT_SSH_COMMAND...), plus SAFE_ENV. Built once:
 * reading process.env is slow, and it is the same for every call.
 */
export function gitEnv(): NodeJS.ProcessEnv {
  baseEnv ??= {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_"))),
    ...SAFE_ENV,
  };
  return baseEnv;
}

/**
 * The argument vector for one git call: the safety settings, the repo's own overrides (from
 * inert.ts: `--config-env` for the repo's driver names, `safe.directory` for a trusted owner's
 * repo), then the subcommand. No `safe.directory` otherwise: git's ownership check stays on.
 */
export function gitArgs(args: readonly string[], repoConfig: readonly string[] = []): string[] {
  return ["--no-optional-locks", ...SAFE_CONFIG.flatMap((c) => ["-c", c]), ...repoConfig, ...args];
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
  const full = gitArgs(args, opts.repoConfig);
  const h = !opts.env && gitBinary() !== "git" ? gitHelpers() : undefined;
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
      {
        cwd,
        env: opts.env ? { ...gitEnv(), ...opts.env } : gitEnv(),
        encoding: "buffer",
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: opts.maxBuffer ?? DEFAULT_MAX_BUFFER,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        const text = lastLines(stderr.toString("utf8"));
        const why = e.killed
          ? "timed out"
          : typeof e.code === "number"
            ? `exit ${e.code}`
            : String(e.code ?? e.message);
        reject(
          new GitError(
            `git ${args[0]} failed (${why})${text ? `: ${text}` : ""}`,
            typeof e.code === "number" ? e.code : null,
            text,
            err,
          ),
        );
      },
    );
  });
}
