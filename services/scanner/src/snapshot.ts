import type { RepoSnapshot } from "@mirror/contracts";
import { repoKey } from "@mirror/contracts";
import { dirtySince } from "./dirty-since.js";
import type { FoundRepo } from "./discover.js";
import { runGit } from "./git.js";
import { readOperation, readStashes } from "./gitdir-state.js";
import { parseStatus, type StatusReport } from "./porcelain.js";
import { markMerged, pickDefault, readRefs } from "./refs.js";

/** A snapshot without the fields the publisher sets (seq, observedAt). */
export type SnapshotBody = Omit<RepoSnapshot, "seq" | "observedAt">;

export interface ReadOptions {
  /** Count at most this many untracked paths; more sets untrackedCapped. */
  maxUntracked: number;
  timeoutMs?: number;
}

const STATUS_ARGS = ["status", "--porcelain=v2", "--branch", "--show-stash", "-z", "--untracked-files=all", "--ignore-submodules=dirty"];

function emptyBody(repo: FoundRepo): SnapshotBody {
  return {
    repoKey: repoKey(repo.path), path: repo.path, kind: repo.kind, branch: null, detached: false, head: null,
    upstream: null, ahead: null, behind: null, staged: 0, unstaged: 0, untracked: 0, untrackedCapped: false, conflicted: 0,
    dirtySince: null, stashes: { count: 0, oldestAt: null }, branches: [], defaultBranch: null, operation: null,
    operationSince: null, hasRemote: false, error: null,
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

async function hasAnyRemote(path: string): Promise<boolean> {
  return (await runGit(path, ["remote"])).toString("utf8").trim().length > 0;
}

/**
 * Reads the whole observed state of one repository. Never throws: what could not be
 * read is named in `error` and the rest is filled in as far as it could be.
 */
export async function readRepo(repo: FoundRepo, opts: ReadOptions): Promise<SnapshotBody> {
  const body = emptyBody(repo);
  const errors: string[] = [];
  const attempt = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  let status: StatusReport | undefined;
  await attempt("status", async () => {
    status = parseStatus(await runGit(repo.path, STATUS_ARGS, { timeoutMs: opts.timeoutMs }), { maxEntries: opts.maxUntracked + 10_000 });
    applyStatus(body, status, opts.maxUntracked);
    body.dirtySince = await dirtySince(repo.path, status.entries);
  });
  await attempt("refs", async () => {
    const refs = await readRefs(repo.path);
    body.defaultBranch = pickDefault(refs);
    await markMerged(repo.path, refs, body.defaultBranch);
    body.branches = refs.branches;
    const sha = status?.oid;
    const tip = body.branch ? refs.tips.get(body.branch) : undefined;
    if (sha) body.head = { sha, committedAt: tip?.sha === sha && tip.committedAt ? tip.committedAt : await commitTime(repo.path, sha) };
  });
  await attempt("remotes", async () => {
    body.hasRemote = await hasAnyRemote(repo.path);
  });
  body.stashes = await readStashes(repo.commonDir);
  const op = await readOperation(repo.gitDir);
  body.operation = op.operation;
  body.operationSince = op.since;
  body.error = errors.length ? errors.join("; ").slice(0, 2_000) : null;
  return body;
}

async function commitTime(path: string, sha: string): Promise<string> {
  const out = (await runGit(path, ["show", "-s", "--format=%cI", sha, "--"])).toString("utf8").trim();
  return new Date(Date.parse(out)).toISOString();
}
