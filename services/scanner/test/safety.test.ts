import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { commitAll, git, makeRepo } from "@mirror/testkit";
import { read, realTemp } from "./fixtures.js";

/** A script that leaves a mark when anything runs it. */
function canary(dir: string, mark: string): string {
  const script = join(dir, "canary.sh");
  writeFileSync(script, `#!/bin/sh\ntouch '${mark}'\ncat\n`);
  chmodSync(script, 0o755);
  return script;
}

/** A repo whose own config asks git to run programs: fsmonitor, hooks, a filter, gpg. */
function plantedRepo(dir: string, script: string): string {
  const repo = makeRepo(join(dir, "evil"), { "a.txt": "a\n", ".gitattributes": "* filter=evil\n" });
  git(repo, "checkout", "-q", "--detach");
  const hooks = join(repo, ".git", "hooks");
  for (const hook of [
    "pre-commit",
    "post-checkout",
    "post-index-change",
    "reference-transaction",
    "fsmonitor-watchman",
  ]) {
    writeFileSync(join(hooks, hook), `#!/bin/sh\n${script}\n`);
    chmodSync(join(hooks, hook), 0o755);
  }
  git(repo, "config", "core.fsmonitor", script);
  git(repo, "config", "core.hooksPath", hooks);
  git(repo, "config", "filter.evil.clean", script);
  git(repo, "config", "filter.evil.process", script);
  git(repo, "config", "filter.evil.required", "true");
  git(repo, "config", "log.showSignature", "true");
  git(repo, "config", "gpg.program", script);
  git(repo, "config", "core.pager", script);
  // Stat-dirty and content-dirty files make status compare contents (which runs the clean filter).
  writeFileSync(join(repo, "a.txt"), "changed\n");
  writeFileSync(join(repo, "--upload-pack=touch pwned"), "");
  return repo;
}

test("a repo whose config sets fsmonitor, hooks, filters and gpg is read without running any of them", async () => {
  const dir = realTemp();
  const mark = join(dir, "RAN");
  const repo = plantedRepo(dir, canary(dir, mark));
  rmSync(mark, { force: true });
  const s = await read(repo);
  assert.equal(existsSync(mark), false, "the scan ran a program from the repo's config");
  assert.equal(existsSync(join(repo, "pwned")), false);
  assert.equal(s.error, null);
  assert.equal(s.detached, true);
  assert.ok(s.head?.committedAt);
  assert.ok(s.unstaged >= 1);
  assert.equal(existsSync(join(repo, ".git", "index.lock")), false);
  // The canary is armed: plain git does run it.
  try {
    execFileSync("git", ["status", "--porcelain"], { cwd: repo, stdio: "ignore" });
  } catch {
    // The canary is no real filter process, so git fails after running it; the mark is what counts.
  }
  assert.equal(existsSync(mark), true, "control: plain `git status` should have run the canary");
});

test("a repo owned by another user is not opened unless its owner is trusted", async () => {
  // Fails, never skips, without root: chown to another uid is what it proves.
  assert.equal(process.getuid?.(), 0, "this test needs root (chown to another uid); it runs as root in CI");
  const dir = realTemp();
  const repo = makeRepo(join(dir, "foreign"));
  writeFileSync(join(repo, "x.txt"), "");
  execFileSync("chown", ["-R", "65534:65534", repo]);
  assert.throws(
    () => execFileSync("git", ["status"], { cwd: repo, stdio: "pipe" }),
    /dubious ownership/,
    "control: git refuses it by default",
  );
  const refused = await read(repo);
  assert.deepEqual(refused.untrusted, { uid: 65534, user: "nobody" });
  assert.match(refused.error ?? "", /owned by uid 65534 \/ user nobody, not in scanner\.trustedOwners; not scanned/);
  assert.equal(refused.branch, null);
  const s = await read(repo, 10_000, ["nobody"]);
  assert.equal(s.error, null);
  assert.equal((await read(repo, 10_000, [65534])).error, null, "a uid as a YAML number is an owner too");
  assert.notEqual((await read(repo, 10_000, ["65535", "root"])).untrusted, null);
  assert.equal(s.untrusted, null);
  assert.equal(s.untracked, 1);
  assert.equal(s.branch, "main");
});

test("scanning never takes index.lock or rewrites the index", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  mkdirSync(join(repo, "d"));
  writeFileSync(join(repo, "d", "f"), "");
  commitAll(repo);
  const index = join(repo, ".git", "index");
  const before = execFileSync("stat", ["-c", "%Y.%y", index]).toString();
  // Touch a tracked file: plain `git status` would refresh (rewrite) the index here.
  writeFileSync(join(repo, "d", "f"), "");
  await read(repo);
  assert.equal(execFileSync("stat", ["-c", "%Y.%y", index]).toString(), before);
});
