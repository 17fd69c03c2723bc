import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { git, makeRepo } from "@mirror/testkit";
import { reachableFrom } from "../src/ancestry.js";
import { runGit } from "../src/git.js";
import { markMerged, pickDefault, readRefs } from "../src/refs.js";
import { commitFile, readBranchesTraced, realTemp } from "./fixtures.js";

const MERGED = ["for-each-ref", "--merged=refs/heads/main", "--format=%(refname)", "refs/heads"];

/** Branches as the scanner reads them (status from git, the rest from files) and the git calls it made. */
async function scanned(worktree: string) {
  const { state, calls } = await readBranchesTraced(worktree);
  return { merged: state.branches.map((b) => [b.name, b.mergedIntoDefault]), calls };
}

/** The same answer from git alone (for-each-ref and --merged). */
async function fromGit(worktree: string) {
  const g = (args: readonly string[]) => runGit(worktree, args);
  const refs = await readRefs(g);
  await markMerged(g, refs, pickDefault(refs));
  return refs.branches.map((b) => [b.name, b.mergedIntoDefault]);
}

/** main with a merge commit, a merged topic, an unmerged one, one merged then moved on, one at main's tip. */
function branchyRepo(): string {
  const repo = makeRepo(join(realTemp(), "r"));
  git(repo, "checkout", "-q", "-b", "merged-topic");
  commitFile(repo, "t1.txt");
  git(repo, "checkout", "-q", "-b", "moved-on");
  commitFile(repo, "m1.txt");
  git(repo, "checkout", "-q", "main");
  commitFile(repo, "main1.txt");
  git(repo, "merge", "-q", "--no-ff", "-m", "merge topic", "merged-topic");
  git(repo, "checkout", "-q", "-b", "open-work", "HEAD~1");
  commitFile(repo, "o1.txt");
  git(repo, "checkout", "-q", "main");
  git(repo, "branch", "at-tip");
  return repo;
}

test("merged branches read from the object store agree with git's --merged, loose and packed, and need no git", async () => {
  const repo = branchyRepo();
  for (const step of ["loose", "packed"]) {
    if (step === "packed") git(repo, "gc", "-q", "--prune=now");
    const s = await scanned(repo);
    assert.deepEqual(s.merged, await fromGit(repo), step);
    assert.deepEqual(
      s.merged,
      [
        ["at-tip", true],
        ["main", true],
        ["merged-topic", true],
        ["moved-on", false],
        ["open-work", false],
      ],
      step,
    );
    assert.deepEqual(s.calls, [], step);
  }
});

test("merged from a linked worktree and from a detached HEAD, as git says", async () => {
  const repo = branchyRepo();
  const wt = join(realTemp(), "wt");
  git(repo, "worktree", "add", "-q", wt, "open-work");
  const w = await scanned(wt);
  assert.deepEqual(w.merged, await fromGit(wt));
  assert.deepEqual(w.calls, []);
  git(repo, "checkout", "-q", "--detach", "HEAD~1");
  const d = await scanned(repo);
  assert.deepEqual(d.merged, await fromGit(repo));
  assert.deepEqual(d.calls, []);
});

test("a repo with no commits and one with a broken branch ref read as git reads them", async () => {
  const empty = join(realTemp(), "empty");
  mkdirSync(empty);
  git(empty, "init", "-q", "-b", "main");
  const e = await scanned(empty);
  assert.deepEqual(e.merged, []);
  assert.deepEqual(e.calls, []);
  const repo = branchyRepo();
  writeFileSync(join(repo, ".git", "refs", "heads", "broken"), "not a sha\n");
  const b = await scanned(repo);
  assert.deepEqual(b.merged, await fromGit(repo));
  assert.ok(!b.merged.some(([name]) => name === "broken"));
});

test("history git would see differently, or too long to walk here, is left to git", async () => {
  const repo = branchyRepo();
  const commonDir = join(repo, ".git");
  const at = (ref: string) => git(repo, "rev-parse", ref).trim();
  const main = at("main");
  assert.deepEqual(
    reachableFrom(commonDir, main, new Set([at("merged-topic"), at("open-work")])),
    new Set([at("merged-topic")]),
  );
  assert.equal(reachableFrom(commonDir, main, new Set([at("open-work")]), 2), undefined, "over budget");
  // A replace ref makes main's merge commit look like open-work's tip to git: --merged changes.
  git(repo, "replace", at("main~1"), at("open-work"));
  assert.equal(reachableFrom(commonDir, main, new Set([at("open-work")])), undefined);
  const replaced = await scanned(repo);
  assert.deepEqual(replaced.calls, [MERGED]);
  assert.deepEqual(replaced.merged, await fromGit(repo));
  git(repo, "pack-refs", "--all");
  assert.equal(reachableFrom(commonDir, main, new Set([at("open-work")])), undefined, "packed replace ref");
  git(repo, "replace", "-d", at("main~1"));
  // A commit missing from the object store (damage, or alternates) is not guessed at.
  const lost = at("open-work~1");
  rmSync(join(commonDir, "objects", lost.slice(0, 2), lost.slice(2)));
  assert.equal(reachableFrom(commonDir, at("open-work"), new Set([main])), undefined);
});
