import type { Loop } from "@mirror/contracts";
import { clean, field, num, text, time } from "./evidence.js";
import { age, plural, tilde } from "./words.js";

export interface DescribeContext {
  now: number;
  home: string | undefined;
}

/** What the rules say about one loop: the two texts and since when the condition holds. */
export interface Description {
  summary: string;
  nextAction: string;
  since: number;
}

type Describe = (loop: Loop, where: string, ctx: DescribeContext) => Description;

const opened = (loop: Loop) => Date.parse(loop.openedAt);
const sinceOf = (loop: Loop, ...names: string[]) => time(loop, ...names) ?? opened(loop);
const git = (where: string, cmd: string) => `git -C ${where} ${cmd}`;

const dirty: Describe = (loop, where, { now }) => {
  const staged = num(loop, "staged") ?? 0;
  const unstaged = num(loop, "unstaged") ?? 0;
  const untracked = num(loop, "untracked") ?? 0;
  const files = num(loop, "files", "dirtyFiles") ?? staged + unstaged + untracked;
  const since = sinceOf(loop, "dirtySince", "since");
  const what = files > 0 ? `${plural(files, "file")} uncommitted` : "Uncommitted changes";
  const parts = [
    staged && `${staged} staged`,
    unstaged && `${unstaged} modified`,
    untracked && `${untracked} untracked`,
  ].filter(Boolean);
  return {
    summary: `${what} for ${age(now - since)} in ${where}${parts.length ? ` (${parts.join(", ")})` : ""}`,
    nextAction: `Commit or stash them: ${git(where, "status")}, then commit, or \`git stash\` if they are an experiment.`,
    since,
  };
};

const unpushed: Describe = (loop, where, { now }) => {
  const ahead = num(loop, "ahead");
  const branch = text(loop, "branch", "name") ?? "the current branch";
  const since = sinceOf(loop, "since", "head.committedAt", "lastCommitAt");
  return {
    summary: `${ahead ? plural(ahead, "commit") : "Commits"} on ${branch} not pushed for ${age(now - since)} in ${where}`,
    nextAction: `Push them so they exist somewhere else: ${git(where, "push")}.`,
    since,
  };
};

const noUpstream: Describe = (loop, where, { now }) => {
  const branch = text(loop, "branch", "name");
  const hasRemote = loop.evidence?.hasRemote !== false;
  const since = sinceOf(loop, "since", "lastCommitAt", "head.committedAt");
  const subject = branch ? `Branch ${branch}` : "This repository";
  return {
    summary: hasRemote
      ? `${subject} in ${where} has no upstream: its commits are backed up nowhere (${age(now - since)})`
      : `${where} has no remote at all: its work is backed up nowhere (${age(now - since)})`,
    nextAction: hasRemote
      ? `Push it with an upstream: ${git(where, `push -u origin ${branch ? shellQuote(branch) : "HEAD"}`)}.`
      : `Add a remote and push: ${git(where, "remote add origin <url>")}, then ${git(where, "push -u origin HEAD")}.`,
    since,
  };
};

const stash: Describe = (loop, where, { now }) => {
  const count = num(loop, "count", "stashes.count") ?? 1;
  const since = sinceOf(loop, "oldestAt", "stashes.oldestAt", "since");
  return {
    summary: `${plural(count, "stash", "stashes")} in ${where}, the oldest ${age(now - since)} old`,
    nextAction: `Look at them with ${git(where, "stash list")}; apply what you still need (\`git stash pop\`) and drop the rest.`,
    since,
  };
};

const staleBranch: Describe = (loop, where, { now }) => {
  const branch = text(loop, "branch", "name");
  const since = sinceOf(loop, "lastCommitAt", "since");
  const all = field(loop, "branches");
  const more =
    Array.isArray(all) && all.length > 1
      ? ` (${plural(all.length - 1, "more stale branch", "more stale branches")})`
      : "";
  return {
    summary: `${branch ? `Branch ${branch}` : "A branch"} in ${where} is unmerged and has had no commit for ${age(now - since)}${more}`,
    nextAction: `Merge it if it is done, or delete it: ${git(where, `branch -d ${branch ? shellQuote(branch) : "<branch>"}`)} (-D if it was abandoned).`,
    since,
  };
};

const conflict: Describe = (loop, where, { now }) => {
  const op = text(loop, "operation") ?? "merge";
  const conflicted = num(loop, "conflicted");
  const since = sinceOf(loop, "operationSince", "since");
  const files = conflicted ? `, ${plural(conflicted, "file")} in conflict` : "";
  return {
    summary: `A ${op} left half done for ${age(now - since)} in ${where}${files}`,
    nextAction: `Finish it (resolve, then ${git(where, `${op} --continue`)}) or undo it with ${git(where, `${op} --abort`)}.`,
    since,
  };
};

const behind: Describe = (loop, where, { now }) => {
  const n = num(loop, "behind");
  const upstream = text(loop, "upstream") ?? "its upstream";
  const since = sinceOf(loop, "since");
  return {
    summary: `${where} is ${n ? plural(n, "commit") : "some commits"} behind ${upstream} (${age(now - since)})`,
    nextAction: `Pull before you change anything: ${git(where, "pull --ff-only")}.`,
    since,
  };
};

const REPO_KINDS: Record<string, Describe> = {
  "repo.dirty": dirty,
  "repo.unpushed": unpushed,
  "repo.no-upstream": noUpstream,
  "repo.stash": stash,
  "repo.stale-branch": staleBranch,
  "repo.conflict": conflict,
  "repo.behind": behind,
};

/** Describes a repo loop, or returns undefined for a kind the rules do not know. */
export function describeRepo(loop: Loop, ctx: DescribeContext): Description | undefined {
  const f = REPO_KINDS[loop.kind];
  if (!f) return undefined;
  const path = clean(loop.entity.repo ?? text(loop, "path") ?? "the repository", 300);
  return f(loop, quotePath(tilde(path, ctx.home)), ctx);
}

/** Paths and branch names go into shell commands the owner may copy, so quote what needs it. */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Like shellQuote, but keeps a leading "~/" outside the quotes so the shell still expands it. */
function quotePath(path: string): string {
  return path.startsWith("~/") ? `~/${shellQuote(path.slice(2))}` : shellQuote(path);
}
