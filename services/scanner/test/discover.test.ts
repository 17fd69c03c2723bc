import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { git, makeRepo } from "@mirror/testkit";
import { type Discovery, discover } from "../src/discover.js";
import { realTemp } from "./fixtures.js";

const opts = { maxDepth: 4, exclude: ["node_modules", ".cache", "vendor"] };
const byPath = (d: Discovery) => Object.fromEntries(d.repos.map((r) => [r.path, r.kind]));

test("nested repos, linked worktrees and submodules are each their own repo; bare repos are skipped", async () => {
  const dir = realTemp();
  const outer = makeRepo(join(dir, "outer"));
  const nested = makeRepo(join(outer, "libs", "nested"));
  const lib = makeRepo(join(dir, "lib-src"));
  git(outer, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "sub");
  const wt = join(dir, "outer-wt");
  git(outer, "worktree", "add", "-q", "-b", "wt", wt);
  git(dir, "clone", "-q", "--bare", lib, join(dir, "bare.git"));
  const found = await discover([dir], opts);
  assert.deepEqual(byPath(found), {
    [outer]: "repo",
    [nested]: "repo",
    [lib]: "repo",
    [join(outer, "sub")]: "submodule",
    [wt]: "worktree",
  });
  const w = found.repos.find((r) => r.kind === "worktree");
  assert.equal(w?.commonDir, join(outer, ".git"));
  assert.equal(w?.gitDir, join(outer, ".git", "worktrees", "outer-wt"));
  assert.deepEqual(found.problems, []);
});

test("excluded folders, maxDepth, symlink loops and duplicate symlinks", async () => {
  const dir = realTemp();
  const a = makeRepo(join(dir, "a"));
  makeRepo(join(dir, "node_modules", "pkg"));
  makeRepo(join(dir, "x", "vendor", "v"));
  makeRepo(join(dir, "1", "2", "3", "4", "5", "deep"));
  makeRepo(join(dir, "skip", "me"));
  symlinkSync(dir, join(dir, "loop"));
  symlinkSync(join(dir, "a"), join(dir, "a-again"));
  symlinkSync(join(dir, "nowhere"), join(dir, "dangling"));
  const found = await discover([dir], { ...opts, exclude: [...opts.exclude, "skip/*"] });
  assert.deepEqual(Object.keys(byPath(found)), [a]);
  const shallow = await discover([dir], { ...opts, maxDepth: 0 });
  assert.deepEqual(shallow.repos, []);
});

test("a missing root or a file as root is a problem, and the other roots are still scanned", async () => {
  const dir = realTemp();
  const repo = makeRepo(join(dir, "r"));
  writeFileSync(join(dir, "file"), "");
  const found = await discover([join(dir, "missing"), join(dir, "file"), dir], opts);
  assert.deepEqual(Object.keys(byPath(found)), [repo]);
  assert.deepEqual(
    found.problems.map((p) => p.reason),
    ["root_missing", "root_not_directory"],
  );
});

test("an unreadable folder is reported and the rest is scanned", async () => {
  const dir = realTemp();
  chmodSync(dir, 0o755);
  const repo = makeRepo(join(dir, "ok"));
  mkdirSync(join(dir, "locked", "inside"), { recursive: true });
  chmodSync(join(dir, "locked"), 0o000);
  let found: Discovery;
  if (process.getuid?.() === 0) {
    // root reads everything: look as an unprivileged user instead, in a child process.
    const script = `import { discover } from ${JSON.stringify(resolve(import.meta.dirname, "../src/discover.ts"))};\nprocess.stdout.write(JSON.stringify(await discover([${JSON.stringify(dir)}], ${JSON.stringify(opts)})));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { uid: 65534, gid: 65534, cwd: resolve(import.meta.dirname, "..") },
    );
    found = JSON.parse(stdout) as Discovery;
  } else {
    found = await discover([dir], opts);
  }
  assert.deepEqual(Object.keys(byPath(found)), [repo]);
  assert.deepEqual(
    found.problems.map((p) => [p.path, p.reason]),
    [[join(dir, "locked"), "permission_denied"]],
  );
});
