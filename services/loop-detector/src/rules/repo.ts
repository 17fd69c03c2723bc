import type { RepoSnapshot } from "@mirror/contracts";
import { type Condition, condition, type ResolvedRules, time } from "./rule.js";

/** The repo.* rules over one snapshot: what is left unfinished in this repository. */
export function repoRules(s: RepoSnapshot, now: number, rules: ResolvedRules): Condition[] {
  // An untrusted repo was not opened: nothing else about it is known.
  if (s.untrusted) return untrusted(s, now, rules);
  return [dirty, unpushed, noUpstream, stash, staleBranch, conflict, behind].flatMap((rule) => rule(s, now, rules));
}

type RepoRule = (s: RepoSnapshot, now: number, rules: ResolvedRules) => Condition[];

const dirty: RepoRule = (s, _now, rules) => {
  const files = s.staged + s.unstaged + s.untracked;
  if (files === 0 && s.dirtySince === null) return [];
  return condition(rules, "repo.dirty", {
    summary: `Uncommitted changes in ${s.path}`,
    evidence: {
      path: s.path,
      branch: s.branch,
      dirtySince: s.dirtySince,
      staged: s.staged,
      unstaged: s.unstaged,
      untracked: s.untracked,
      files,
    },
    since: time(s.dirtySince),
  });
};

const unpushed: RepoRule = (s, _now, rules) => {
  const others = s.branches
    .filter((b) => (b.ahead ?? 0) > 0)
    .map((b) => ({ name: b.name, ahead: b.ahead, upstream: b.upstream }));
  if ((s.ahead ?? 0) === 0 && others.length === 0) return [];
  const branch = (s.ahead ?? 0) > 0 ? s.branch : others[0]?.name;
  const ahead = (s.ahead ?? 0) > 0 ? s.ahead : others[0]?.ahead;
  return condition(rules, "repo.unpushed", {
    summary: `Unpushed commits in ${s.path}`,
    evidence: { path: s.path, branch, ahead, upstream: s.upstream, branches: others },
    since: null,
  });
};

const noUpstream: RepoRule = (s, _now, rules) => {
  if (s.head === null) return [];
  if (!s.hasRemote) {
    return condition(rules, "repo.no-upstream", {
      summary: `No remote at all for ${s.path}`,
      evidence: { path: s.path, hasRemote: false, branch: s.branch },
      since: null,
    });
  }
  // A branch merged into the default branch is backed up wherever the default branch is.
  const unbacked = s.branches
    .filter((b) => b.upstream === null && (b.mergedIntoDefault !== true || b.name === s.defaultBranch))
    .map((b) => b.name);
  if (s.branches.length === 0 && s.upstream === null && s.branch !== null && !s.detached) unbacked.push(s.branch);
  if (unbacked.length === 0) return [];
  return condition(rules, "repo.no-upstream", {
    summary: `Branches without upstream in ${s.path}`,
    evidence: { path: s.path, hasRemote: true, branch: unbacked[0], branches: unbacked },
    since: null,
  });
};

const stash: RepoRule = (s, _now, rules) => {
  if (s.stashes.count === 0) return [];
  return condition(rules, "repo.stash", {
    summary: `Stashed changes in ${s.path}`,
    evidence: { path: s.path, count: s.stashes.count, oldestAt: s.stashes.oldestAt },
    since: time(s.stashes.oldestAt),
  });
};

const staleBranch: RepoRule = (s, now, rules) => {
  const after = rules["repo.stale-branch"].after;
  const candidates = s.branches
    .filter((b) => b.mergedIntoDefault === false && b.name !== s.defaultBranch && time(b.lastCommitAt) !== null)
    .map((b) => ({ name: b.name, lastCommitAt: b.lastCommitAt, t: time(b.lastCommitAt) as number }))
    .sort((a, b) => a.t - b.t);
  const oldest = candidates[0];
  if (!oldest) return [];
  const stale = candidates.filter((b) => b.t + after <= now).map(({ name, lastCommitAt }) => ({ name, lastCommitAt }));
  return condition(rules, "repo.stale-branch", {
    summary: `Stale unmerged branches in ${s.path}`,
    evidence: { path: s.path, branch: oldest.name, lastCommitAt: oldest.lastCommitAt, branches: stale },
    since: oldest.t,
  });
};

const conflict: RepoRule = (s, _now, rules) => {
  if (s.operation === null && s.conflicted === 0) return [];
  return condition(rules, "repo.conflict", {
    summary: `A ${s.operation ?? "merge"} left half done in ${s.path}`,
    evidence: { path: s.path, operation: s.operation, operationSince: s.operationSince, conflicted: s.conflicted },
    since: time(s.operationSince),
  });
};

const behind: RepoRule = (s, _now, rules) => {
  if ((s.behind ?? 0) === 0) return [];
  return condition(rules, "repo.behind", {
    summary: `Behind its upstream: ${s.path}`,
    evidence: { path: s.path, branch: s.branch, behind: s.behind, upstream: s.upstream },
    since: null,
  });
};

const untrusted: RepoRule = (s, _now, rules) => {
  if (!s.untrusted) return [];
  const { uid, user } = s.untrusted;
  const who = user ? `uid ${uid} / user ${user}` : `uid ${uid}`;
  return condition(rules, "repo.untrusted", {
    summary: `Not scanned: ${s.path} is owned by ${who}, not in scanner.trustedOwners`,
    evidence: { path: s.path, uid, user },
    since: null,
  });
};
