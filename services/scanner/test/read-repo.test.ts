import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { commitAll, git, makeRepo } from "@mirror/testkit";
import { type FoundRepo, repoAt } from "../src/discover.js";
import { runGit } from "../src/git.js";
import { readCommitTime } from "../src/objects.js";
import { markMerged, pickDefault, readRefs } from "../src/refs.js";
import { commitFile, read, readBranchesTraced, realTemp, remoteAndClone, writeAt } from "./fixtures.js";

test("a clean repo: branch, head, default branch, every count zero, no remote", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  const s = await read(repo);
  assert.equal(s.error, null);
  assert.equal(s.branch, "main");
  assert.equal(s.detached, false);
  assert.equal(s.head?.sha, git(repo, "rev-parse", "HEAD").trim());
  assert.equal(s.head?.committedAt, new Date(git(repo, "show", "-s", "--format=%cI").trim()).toISOString());
  assert.deepEqual([s.staged, s.unstaged, s.untracked, s.conflicted, s.dirtySince], [0, 0, 0, 0, null]);
  assert.equal(s.hasRemote, false);
  assert.equal(s.defaultBranch, "main");
  assert.deepEqual(
    s.branches.map((b) => [b.name, b.upstream, b.mergedIntoDefault]),
    [["main", null, true]],
  );
  assert.deepEqual(s.stashes, { count: 0, oldestAt: null });
  assert.equal(s.operation, null);
});

test("dirty: staged, unstaged, untracked counts and dirty-since is the oldest dirty mtime", async () => {
  const repo = makeRepo(join(realTemp(), "r"), { "a.txt": "a\n", "b.txt": "b\n", "gone.txt": "x\n" });
  writeAt(join(repo, "a.txt"), "a2\n", new Date("2024-03-01T10:00:00Z"));
  git(repo, "add", "a.txt");
  writeAt(join(repo, "b.txt"), "b2\n", new Date("2024-02-01T10:00:00Z"));
  writeAt(join(repo, "new.txt"), "n\n", new Date("2024-05-01T10:00:00Z"));
  mkdirSync(join(repo, "deep/er"), { recursive: true });
  writeAt(join(repo, "deep/er/x.txt"), "x\n", new Date("2024-06-01T10:00:00Z"));
  rmSync(join(repo, "gone.txt"));
  const s = await read(repo);
  assert.equal(s.staged, 1);
  assert.equal(s.unstaged, 2, "b.txt modified, gone.txt deleted");
  assert.equal(s.untracked, 2, "every untracked file, not just the folder");
  assert.equal(s.dirtySince, "2024-02-01T10:00:00.000Z");
});

test("ignored files are not dirt", async () => {
  const repo = makeRepo(join(realTemp(), "r"), { ".gitignore": "node_modules/\n*.log\n" });
  mkdirSync(join(repo, "node_modules/x"), { recursive: true });
  writeFileSync(join(repo, "node_modules/x/i.js"), "");
  writeFileSync(join(repo, "debug.log"), "");
  const s = await read(repo);
  assert.deepEqual([s.untracked, s.dirtySince], [0, null]);
});

test("ahead and behind against a bare remote (behind as of the last fetch), upstream gone", async () => {
  const dir = realTemp();
  const { clone } = remoteAndClone(dir);
  commitFile(clone, "mine.txt");
  const other = join(dir, "other");
  git(dir, "clone", "-q", join(dir, "remote.git"), other);
  commitFile(other, "theirs1.txt");
  commitFile(other, "theirs2.txt");
  git(other, "push", "-q", "origin", "main");
  const before = await read(clone);
  assert.deepEqual(
    [before.upstream, before.ahead, before.behind, before.hasRemote],
    ["origin/main", 1, 0, true],
    "nothing fetched yet",
  );
  git(clone, "fetch", "-q");
  const s = await read(clone);
  assert.deepEqual([s.ahead, s.behind], [1, 2]);
  assert.deepEqual(
    s.branches.find((b) => b.name === "main"),
    {
      name: "main",
      lastCommitAt: s.head?.committedAt,
      upstream: "origin/main",
      upstreamGone: false,
      ahead: 1,
      behind: 2,
      mergedIntoDefault: true,
    },
  );
  git(clone, "checkout", "-q", "-b", "topic");
  commitFile(clone, "topic.txt");
  git(clone, "push", "-q", "-u", "origin", "topic");
  git(other, "push", "-q", "origin", "--delete", "topic");
  git(clone, "fetch", "-q", "--prune");
  const gone = await read(clone);
  const topic = gone.branches.find((b) => b.name === "topic");
  assert.equal(topic?.upstreamGone, true);
  assert.equal(topic?.mergedIntoDefault, false);
});

test("a branch with commits and no upstream, and a merged one", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  git(repo, "checkout", "-q", "-b", "feature");
  commitFile(repo, "f.txt");
  git(repo, "checkout", "-q", "-b", "done", "main");
  git(repo, "checkout", "-q", "main");
  const s = await read(repo);
  const byName = Object.fromEntries(s.branches.map((b) => [b.name, b]));
  assert.equal(byName.feature?.upstream, null);
  assert.equal(byName.feature?.mergedIntoDefault, false);
  assert.equal(byName.done?.mergedIntoDefault, true);
  assert.ok(byName.feature?.lastCommitAt);
  assert.equal(s.hasRemote, false);
});

test("a real stash: count and age of the oldest", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  writeFileSync(join(repo, "README.md"), "wip 1\n");
  git(repo, "stash", "-q");
  writeFileSync(join(repo, "README.md"), "wip 2\n");
  git(repo, "stash", "-q");
  const s = await read(repo);
  assert.equal(s.stashes.count, 2);
  assert.ok(s.stashes.oldestAt && Date.parse(s.stashes.oldestAt) <= Date.now());
  assert.equal(s.unstaged, 0);
});

test("a half-done merge: operation merge, conflicted paths", async () => {
  const repo = makeRepo(join(realTemp(), "r"), { "a.txt": "base\n" });
  git(repo, "checkout", "-q", "-b", "other");
  writeFileSync(join(repo, "a.txt"), "theirs\n");
  commitAll(repo, "theirs");
  git(repo, "checkout", "-q", "main");
  writeFileSync(join(repo, "a.txt"), "ours\n");
  commitAll(repo, "ours");
  assert.throws(() => git(repo, "merge", "-q", "other"));
  const s = await read(repo);
  assert.equal(s.operation, "merge");
  assert.ok(s.operationSince);
  assert.equal(s.conflicted, 1);
  assert.notEqual(s.dirtySince, null);
});

test("a rebase stopped on a conflict, a cherry-pick, a bisect", async () => {
  const repo = makeRepo(join(realTemp(), "r"), { "a.txt": "base\n" });
  git(repo, "checkout", "-q", "-b", "other");
  writeFileSync(join(repo, "a.txt"), "theirs\n");
  commitAll(repo, "theirs");
  git(repo, "checkout", "-q", "main");
  writeFileSync(join(repo, "a.txt"), "ours\n");
  commitAll(repo, "ours");
  assert.throws(() => git(repo, "cherry-pick", "other"));
  assert.equal((await read(repo)).operation, "cherry-pick");
  git(repo, "cherry-pick", "--abort");
  git(repo, "checkout", "-q", "other");
  assert.throws(() => git(repo, "rebase", "-q", "main"));
  const s = await read(repo);
  assert.equal(s.operation, "rebase");
  assert.equal(s.detached, true, "a rebase runs on a detached HEAD");
  git(repo, "rebase", "--abort");
  git(repo, "bisect", "start");
  assert.equal((await read(repo)).operation, "bisect");
});

test("detached HEAD and an unborn branch", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  commitFile(repo, "two.txt");
  git(repo, "checkout", "-q", "--detach", "HEAD~1");
  const d = await read(repo);
  assert.deepEqual([d.branch, d.detached, d.error], [null, true, null]);
  assert.equal(d.head?.sha, git(repo, "rev-parse", "HEAD").trim());
  assert.ok(d.head?.committedAt);
  const empty = join(realTemp(), "empty");
  mkdirSync(empty);
  git(empty, "init", "-q", "-b", "main");
  writeFileSync(join(empty, "x"), "");
  const u = await read(empty);
  assert.deepEqual([u.branch, u.detached, u.head, u.untracked, u.error], ["main", false, null, 1, null]);
});

test("broken repos give an error field, never a throw", async () => {
  const dir = realTemp();
  const garbage = makeRepo(join(dir, "garbage"));
  writeFileSync(join(garbage, ".git", "HEAD"), "this is not a ref\n");
  const g = await read(garbage);
  assert.match(g.error ?? "", /status/);
  const missing = makeRepo(join(dir, "missing"));
  const sha = git(missing, "rev-parse", "HEAD").trim();
  rmSync(join(missing, ".git", "objects", sha.slice(0, 2), sha.slice(2)));
  const m = await read(missing);
  assert.notEqual(m.error, null);
  assert.equal(m.path, missing);
});

test("the untracked count stops at the cap and says so", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  for (let i = 0; i < 30; i++) writeFileSync(join(repo, `u${i}.txt`), "");
  const s = await read(repo, 10);
  assert.deepEqual([s.untracked, s.untrackedCapped], [10, true]);
  assert.notEqual(s.dirtySince, null);
});

test("file names with newlines, spaces, non-UTF-8 bytes and option-like names are counted", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  writeAt(join(repo, "line\nbreak.txt"), "", new Date("2023-01-01T00:00:00Z"));
  writeFileSync(join(repo, "with space.txt"), "");
  writeFileSync(join(repo, "--upload-pack=touch pwned"), "");
  writeFileSync(Buffer.concat([Buffer.from(`${repo}/`), Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74])]), "");
  const s = await read(repo);
  assert.equal(s.untracked, 4);
  assert.equal(s.dirtySince, "2023-01-01T00:00:00.000Z");
  assert.equal(s.error, null);
  assert.ok(!existsSync(join(repo, "pwned")));
});

/** The git calls readBranches makes for the repo (status, refs and config read beforehand). */
const gitCallsForBranches = async (repo: string) => (await readBranchesTraced(repo)).calls;

test("branches read from the ref store agree with for-each-ref, loose or packed, one or several", async () => {
  const dir = realTemp();
  const { clone, bare } = remoteAndClone(dir);
  commitFile(clone, "mine.txt");
  const other = join(dir, "other");
  git(dir, "clone", "-q", bare, other);
  commitFile(other, "theirs.txt");
  git(other, "push", "-q", "origin", "main");
  git(clone, "fetch", "-q");
  const viaGit = async (repo: string) => {
    const found = (await repoAt(repo, repo)) as FoundRepo;
    const g = (args: readonly string[]) => runGit(repo, args);
    const refs = await readRefs(g);
    const def = pickDefault(refs);
    await markMerged(g, refs, def);
    return {
      branches: refs.branches,
      defaultBranch: def,
      at: await readCommitTime(found.commonDir, git(repo, "rev-parse", "HEAD").trim()),
    };
  };
  for (const step of ["loose", "packed"]) {
    if (step === "packed") git(clone, "gc", "-q", "--prune=now");
    const s = await read(clone);
    const expected = await viaGit(clone);
    assert.deepEqual(s.branches, expected.branches, step);
    assert.equal(s.defaultBranch, expected.defaultBranch);
    assert.equal(s.head?.committedAt, new Date(git(clone, "show", "-s", "--format=%cI").trim()).toISOString(), step);
    // Read from the object store, or (a delta in a pack) left to git: never a wrong time.
    if (step === "loose" || expected.at !== undefined) assert.equal(expected.at, s.head?.committedAt, step);
    if (step === "loose")
      assert.deepEqual(await gitCallsForBranches(clone), [], "one branch: nothing beyond git status");
  }
  // Several branches, only the checked-out one tracking: the ref store, and merged read from the object store.
  git(clone, "branch", "merged-side");
  git(clone, "checkout", "-q", "-b", "topic");
  commitFile(clone, "topic.txt");
  git(clone, "checkout", "-q", "main");
  const several = await read(clone);
  assert.deepEqual(several.branches, (await viaGit(clone)).branches);
  assert.deepEqual(
    several.branches.map((b) => [b.name, b.mergedIntoDefault]),
    [
      ["main", true],
      ["merged-side", true],
      ["topic", false],
    ],
  );
  assert.deepEqual(await gitCallsForBranches(clone), [], "several branches: nothing beyond git status either");
  // A second tracking branch needs git's graph walk: for-each-ref gives the same answer.
  git(clone, "branch", "-q", "-u", "origin/main", "topic");
  assert.deepEqual((await read(clone)).branches, (await viaGit(clone)).branches);
  git(other, "push", "-q", "origin", "main:gone-soon");
  git(clone, "fetch", "-q");
  git(clone, "checkout", "-q", "-b", "work", "--track", "origin/gone-soon");
  for (const b of ["main", "merged-side", "topic"]) git(clone, "branch", "-q", "-D", b);
  git(other, "push", "-q", "origin", "--delete", "gone-soon");
  git(clone, "fetch", "-q", "--prune");
  const gone = await read(clone);
  assert.deepEqual(gone.branches, (await viaGit(clone)).branches);
  assert.equal(gone.branches[0]?.upstreamGone, true);
});
