import type { RepoSnapshot } from "@mirror/contracts";
import { repoKey } from "@mirror/contracts";
import { readBranches } from "./branches.js";
import { dirtySince } from "./dirty-since.js";
import type { FoundRepo } from "./discover.js";
import { runGit } from "./git.js";
import { readOperation, readStashes } from "./gitdir-state.js";
import { listLocalBranches } from "./local-refs.js";
import type { Limiter } from "./pool.js";
import { parseStatus, type StatusReport } from "./porcelain.js";
import { type ForeignOwner, trustOf, untrustedMessage } from "./ownership.js";
import { type RepoConfig, type RepoConfigCache, sharedConfigCache } from "./repo-config.js";
import type { Git } from "./refs.js";

/** A snapshot without the fields the publisher sets (seq, observedAt). */
export type SnapshotBody = Omit<RepoSnapshot, "seq" | "observedAt">;

export interface ReadOptions {
  /** Count at most this many untracked paths; more sets untrackedCapped. */
  maxUntracked: number;
  timeoutMs?: number;
  /** Bounds the git processes of every repo read at once; a repo holds a slot only while its git runs. */
  gitSlots?: Limiter;
  /** Owners (user names or uids) whose repositories are opened although the scanner's user does not own them. */
  trustedOwners?: ReadonlyArray<string | number>;
  /** Where resolved config is kept between scans (default: one per process). */
  configCache?: RepoConfigCache;
}

/**
 * One status call gives branch, upstream, ahead/behind, every dirty path and the ignored
 * folders (which the fingerprint then skips). A submodule's own dirt is left to its own
 * snapshot (`--ignore-submodules=dirty`); a new commit in it still shows in the parent.
 */
const STATUS_ARGS = [
  "status",
  "--porcelain=v2",
  "--branch",
  "--show-stash",
  "-z",
  "--untracked-files=all",
  "--ignored=matching",
  "--ignore-submodules=dirty",
];

/** A read repo: its snapshot body and the ignored paths the next fingerprint skips. */
export interface RepoRead {
  body: SnapshotBody;
  ignored: Set<string>;
}

function emptyBody(repo: FoundRepo): SnapshotBody {
  return {
    repoKey: repoKey(repo.path),
    path: repo.path,
    kind: repo.kind,
    branch: null,
    detached: false,
    head: null,
    upstream: null,
    ahead: null,
    behind: null,
    staged: 0,
    unstaged: 0,
    untracked: 0,
    untrackedCapped: false,
    conflicted: 0,
    dirtySince: null,
    stashes: { count: 0, oldestAt: null },
    branches: [],
    defaultBranch: null,
    operation: null,
    operationSince: null,
    hasRemote: false,
    error: null,
    untrusted: null,
  };
}

function applyStatus(body: SnapshotBody, s: StatusReport, maxUntracked: number): void {
  body.branch = s.head;
  body.detached = s.head === null && s.oid !== null;
  body.upstream = s.upstream;
  body.ahead = s.ahead;
  body.behind = s.behind;
  body.staged = s.staged;
  body.unstaged = s.unstaged;
  body.conflicted = s.conflicted;
  body.untracked = Math.min(s.untracked, maxUntracked);
  body.untrackedCapped = s.untracked > maxUntracked;
}

type Limit = <T>(f: () => Promise<T>) => Promise<T>;

/** A repo git may run in: its config now, and the overrides to use for each call. */
interface Opened {
  config: RepoConfig;
  /** The overrides as of now: the cache is checked again (stat calls) right before each git call. */
  current: () => Promise<readonly string[]>;
}

/**
 * The repo's config as git resolves it, or why no git call may run in it: another user owns it
 * (and is not trusted), or git could not tell its config (then no driver could be made inert).
 */
async function openRepo(
  repo: FoundRepo,
  opts: ReadOptions,
  limited: Limit,
): Promise<Opened | { untrusted: ForeignOwner | null; error: string }> {
  const trust = trustOf(repo, opts.trustedOwners ?? []);
  if (!trust.trusted) return { untrusted: trust.owner, error: untrustedMessage(trust.owner) };
  const cache = opts.configCache ?? sharedConfigCache;
  const current = async () => (await cache.read(repo, trust.safeDirectory, opts.timeoutMs)).args;
  try {
    return { config: await limited(() => cache.read(repo, trust.safeDirectory, opts.timeoutMs)), current };
  } catch (err) {
    return { untrusted: null, error: `config: ${(err as Error).message}`.slice(0, 2_000) };
  }
}

/**
 * Reads the whole observed state of one repository. Never throws: what could not be
 * read is named in `error` and the rest is filled in as far as it could be.
 */
export async function readRepo(repo: FoundRepo, opts: ReadOptions): Promise<RepoRead> {
  const body = emptyBody(repo);
  const errors: string[] = [];
  const attempt = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  const slots = opts.gitSlots;
  const limited = <T>(f: () => Promise<T>) => (slots ? slots.run(f) : f());
  const opened = await openRepo(repo, opts, limited);
  if (!("config" in opened)) {
    body.untrusted = opened.untrusted;
    body.error = opened.error;
    return { body, ignored: new Set() };
  }
  const { config, current } = opened;
  // A config file changed since it was resolved would show here, in the same slot as the call.
  const git: Git = (args) =>
    limited(async () => runGit(repo.path, args, { timeoutMs: opts.timeoutMs, repoConfig: await current() }));
  body.hasRemote = config.hasRemote;
  let status: StatusReport | undefined;
  // The file reads overlap the git process: they need nothing from it.
  const [, stashes, op, local] = await Promise.all([
    attempt("status", async () => {
      status = parseStatus(await git(STATUS_ARGS), { maxEntries: opts.maxUntracked + 10_000 });
    }),
    readStashes(repo.commonDir),
    readOperation(repo.gitDir),
    listLocalBranches(repo.commonDir),
  ]);
  if (status) {
    applyStatus(body, status, opts.maxUntracked);
    body.dirtySince = await dirtySince(repo.path, status.entries);
  }
  await attempt("refs", async () => {
    const b = await readBranches(repo, git, { status, local, tracked: config.trackedBranches });
    body.branches = b.branches;
    body.defaultBranch = b.defaultBranch;
    body.head = b.head;
  });
  body.stashes = stashes;
  body.operation = op.operation;
  body.operationSince = op.since;
  body.error = errors.length ? errors.join("; ").slice(0, 2_000) : null;
  return { body, ignored: new Set(status?.ignoredPaths ?? []) };
}
