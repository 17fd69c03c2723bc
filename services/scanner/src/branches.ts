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

/** What is known before any ref-reading git call: status, the ref store, the config. */
export interface BranchInputs {
  status: StatusReport | undefined;
  /** Local branches and tips from the ref store; undefined when it could not be read. */
  local: Map<string, string | undefined> | undefined;
  /** Branches with an upstream configured. */
  tracked: readonly string[];
}

/** Commit time of a sha git itself printed (never a value from a file), without signature checks. */
async function commitTimeFromGit(git: Git, sha: string): Promise<string> {
  const out = (
    await git(["show", "-s", "--no-show-signature", "--no-textconv", "--no-ext-diff", "--format=%cI", sha, "--"])
  )
    .toString("utf8")
    .trim();
  const t = Date.parse(out);
  if (Number.isNaN(t)) throw new Error(`no commit time for ${sha}`);
  return new Date(t).toISOString();
}

async function commitTime(repo: FoundRepo, git: Git, sha: string): Promise<string> {
  return (await readCommitTime(repo.commonDir, sha)) ?? commitTimeFromGit(git, sha);
}

/**
 * Branches built from the ref store, the object store and `git status` (which covers the
 * checked-out branch's upstream and ahead/behind). Only possible when no other branch has an
 * upstream (its ahead/behind needs git's graph walk) and every tip's time can be read here;
 * else undefined and the caller asks for-each-ref. Which branches are merged into the default
 * is read from the object store too when its history is short enough (else one
 * `for-each-ref --merged` call).
 */
async function fromRefStore(
  repo: FoundRepo,
  git: Git,
  status: StatusReport,
  local: Map<string, string | undefined>,
  tracked: readonly string[],
): Promise<BranchState | undefined> {
  if (tracked.some((b) => b !== status.head && local.has(b))) return undefined;
  const head = status.oid ? { sha: status.oid, committedAt: await commitTime(repo, git, status.oid) } : null;
  const branches: RepoBranch[] = [];
  for (const [name, sha] of local) {
    const at =
      sha === status.oid && head ? head.committedAt : sha ? await readCommitTime(repo.commonDir, sha) : undefined;
    if (!at) return undefined;
    const current = name === status.head;
    const gone = current && status.upstream !== null && status.ahead === null;
    branches.push({
      name,
      lastCommitAt: at,
      upstream: current ? status.upstream : null,
      upstreamGone: gone,
      ahead: current && !gone ? status.ahead : null,
      behind: current && !gone ? status.behind : null,
      mergedIntoDefault: null,
    });
  }
  const remoteDefault = await readRemoteDefault(repo.commonDir);
  const defaultBranch = [remoteDefault, "main", "master"].find((n) => n !== null && local.has(n)) ?? null;
  const tips = new Map([...local].map(([name, sha]) => [name, { sha: sha as string, committedAt: null }]));
  await markMerged(git, { branches, remoteDefault, tips }, defaultBranch, repo.commonDir);
  branches.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { branches, defaultBranch, head };
}

/** Every local branch (tip time, upstream, ahead/behind, merged into the default) and HEAD's commit. */
export async function readBranches(repo: FoundRepo, git: Git, inputs: BranchInputs): Promise<BranchState> {
  const { status, local } = inputs;
  if (status && local) {
    const quick = await fromRefStore(repo, git, status, local, inputs.tracked);
    if (quick) return quick;
  }
  const refs = await readRefs(git);
  const defaultBranch = pickDefault(refs);
  await markMerged(git, refs, defaultBranch, repo.commonDir);
  const sha = status?.oid;
  const tip = status?.head ? refs.tips.get(status.head) : undefined;
  const head = sha
    ? { sha, committedAt: tip?.sha === sha && tip.committedAt ? tip.committedAt : await commitTime(repo, git, sha) }
    : null;
  return { branches: refs.branches, defaultBranch, head };
}
