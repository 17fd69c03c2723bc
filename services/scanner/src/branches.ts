import type { RepoBranch } from "@mirror/contracts";
import type { FoundRepo } from "./discover.js";
import { readRemoteDefault } from "./local-refs.js";
import { readCommitTime } from "./objects.js";
import type { StatusReport } from "./porcelain.js";
import { type Git, markMerged, pickDefault, readRefs } from "./refs.js";

export interface BranchState {
  branches: RepoBranch[];
  defaultBranch: string | null;
  head: { sha: string; committedAt: string } | null;
}

/** Commit time of a sha git itself printed (never a value from a file), without signature checks. */
async function commitTimeFromGit(git: Git, sha: string): Promise<string> {
  const out = (await git(["show", "-s", "--no-show-signature", "--format=%cI", sha, "--"])).toString("utf8").trim();
  const t = Date.parse(out);
  if (Number.isNaN(t)) throw new Error(`no commit time for ${sha}`);
  return new Date(t).toISOString();
}

async function commitTime(repo: FoundRepo, git: Git, sha: string): Promise<string> {
  return (await readCommitTime(repo.commonDir, sha)) ?? commitTimeFromGit(git, sha);
}

/**
 * A repo whose only branch is the checked-out one: `git status` already gave its upstream and
 * ahead/behind, so the branch list is built without another git process.
 */
async function singleBranch(repo: FoundRepo, git: Git, status: StatusReport, name: string | undefined): Promise<BranchState> {
  const head = status.oid ? { sha: status.oid, committedAt: await commitTime(repo, git, status.oid) } : null;
  if (!name || !head) return { branches: [], defaultBranch: null, head };
  const remoteDefault = await readRemoteDefault(repo.commonDir);
  const defaultBranch = [remoteDefault, "main", "master"].find((n) => n === name) ?? null;
  const gone = status.upstream !== null && status.ahead === null;
  const branch: RepoBranch = {
    name, lastCommitAt: head.committedAt, upstream: status.upstream, upstreamGone: gone,
    ahead: gone ? null : status.ahead, behind: gone ? null : status.behind, mergedIntoDefault: defaultBranch ? true : null,
  };
  return { branches: [branch], defaultBranch, head };
}

/**
 * Every local branch (tip time, upstream, ahead/behind, merged into the default) and HEAD's
 * commit. `local` is the branch list read from the ref store (undefined when it could not be).
 */
export async function readBranches(repo: FoundRepo, git: Git, status: StatusReport | undefined, local: string[] | undefined): Promise<BranchState> {
  if (status && local && local.length <= 1 && (local.length === 0 || local[0] === status.head)) {
    return singleBranch(repo, git, status, local[0]);
  }
  const refs = await readRefs(git);
  const defaultBranch = pickDefault(refs);
  await markMerged(git, refs, defaultBranch);
  const sha = status?.oid;
  const tip = status?.head ? refs.tips.get(status.head) : undefined;
  const head = sha ? { sha, committedAt: tip?.sha === sha && tip.committedAt ? tip.committedAt : await commitTime(repo, git, sha) } : null;
  return { branches: refs.branches, defaultBranch, head };
}
