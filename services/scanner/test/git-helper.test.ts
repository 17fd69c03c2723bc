// The git helpers (src/git-helper.ts): git run from small long-lived sh processes must give
// byte for byte what spawning git gives, never evaluate a repo-derived value, time out by
// killing the helper with its git, and recover from a helper that dies. Real git, real sh.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeRepo, tempDir, waitFor } from "@mirror/testkit";
import { gitArgs, gitBinary, gitEnv, runGit } from "../src/git.js";
import { GitHelpers, HelperError } from "../src/git-helper.js";

const STATUS = ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"];

/** What git prints when spawned directly with the same arguments and environment. */
function direct(cwd: string, args: string[]): Buffer {
  return execFileSync(gitBinary(), gitArgs(args), { cwd, env: gitEnv(), stdio: ["ignore", "pipe", "pipe"] });
}

test("output through a helper is byte for byte git's own, with hostile file and folder names", async () => {
  const root = tempDir("mirror-git-helper-");
  // A folder name a shell would expand if it ever evaluated one: it must stay data.
  const repo = makeRepo(join(root, "r $(touch PWNED) `touch PWNED2` ; 'q' \"dq\" é"), { "README.md": "x\n" });
  for (const name of ["-n leading dash", "new\tline-ish tab", "ünï cødé.txt", "$(touch PWNED3)", "a\\b", "*"])
    writeFileSync(join(repo, name), "y\n");
  writeFileSync(join(repo, "README.md"), "changed\n");
  const got = await runGit(repo, STATUS, { timeoutMs: 10_000 });
  assert.deepEqual(got, direct(repo, STATUS));
  assert.ok(got.includes(Buffer.from("$(touch PWNED3)")), "the odd names are in the output");
  // An evaluated name would run in the helper's folder (this process's) or in the repo's.
  for (const dir of [process.cwd(), repo]) {
    for (const f of ["PWNED", "PWNED2", "PWNED3"])
      assert.equal(existsSync(join(dir, f)), false, `${f} was not created by a shell in ${dir}`);
  }
  const head = await runGit(repo, ["rev-parse", "HEAD"], { timeoutMs: 10_000 });
  assert.equal(head.toString().trim(), direct(repo, ["rev-parse", "HEAD"]).toString().trim());
});

test("a failing git call names its exit status and stderr, as a spawned one did", async () => {
  const repo = makeRepo(join(tempDir("mirror-git-helper-"), "r"));
  await assert.rejects(
    runGit(repo, ["rev-parse", "--verify", "no-such-ref"], { timeoutMs: 10_000 }),
    (err: Error & { exitCode: number | null }) => {
      assert.equal(err.name, "GitError");
      assert.match(err.message, /^git rev-parse failed \(exit 128\)/);
      assert.equal(err.exitCode, 128);
      return true;
    },
  );
  await assert.rejects(runGit(join(repo, "missing"), ["status"], { timeoutMs: 10_000 }), /git status failed/);
});

test("a folder whose name holds a newline cannot be sent to a helper and is run by spawning git", async () => {
  const repo = makeRepo(join(tempDir("mirror-git-helper-"), "two\nlines"));
  const helpers = new GitHelpers(gitBinary(), () => gitEnv());
  assert.equal(helpers.accepts(repo, gitArgs(STATUS)), false);
  assert.deepEqual(await runGit(repo, STATUS, { timeoutMs: 10_000 }), direct(repo, STATUS));
});

/** A stand-in for git that prints where it ran and its arguments, or sleeps (marker in argv for pgrep). */
function fakeGit(): string {
  const dir = tempDir("mirror-fake-git-");
  const path = join(dir, "git");
  writeFileSync(path, '#!/bin/sh\nif [ "$1" = sleep ]; then exec sleep "$2"; fi\nprintf "%s|" "$PWD" "$@"\n');
  chmodSync(path, 0o755);
  return path;
}

/** Helpers (at most `max`) running the stand-in git, a folder to run it in, and a marker unique to the test. */
function fake(max: number): { helpers: GitHelpers; cwd: string; marker: string } {
  const helpers = new GitHelpers(fakeGit(), () => ({ PATH: process.env.PATH }), max);
  return { helpers, cwd: tempDir("mirror-git-helper-"), marker: String(1e6 + Math.floor(Math.random() * 1e6)) };
}

/** Pids of the stand-in's `sleep <marker>` processes. */
function sleeping(marker: string): number[] {
  const r = spawnSync("pgrep", ["-f", `sleep ${marker}`], { encoding: "utf8" });
  return r.stdout.trim().split("\n").filter(Boolean).map(Number);
}

test("calls share a few helpers without mixing their outputs", async () => {
  const { helpers, cwd: root } = fake(2);
  const dirs = Array.from({ length: 12 }, (_, i) => join(root, `d${i}`));
  for (const d of dirs) mkdirSync(d);
  try {
    const out = await Promise.all(dirs.map((d, i) => helpers.run(d, ["arg", `n${i}`, "with space", ""], 10_000)));
    out.forEach((r, i) => {
      assert.equal(r.code, 0);
      assert.equal(r.stdout.toString(), `${dirs[i]}|arg|n${i}|with space||`);
    });
  } finally {
    helpers.close();
  }
});

test("a call that runs past its timeout kills the helper and its git; the next call gets a new helper", async () => {
  const { helpers, cwd, marker } = fake(1);
  try {
    const t0 = performance.now();
    await assert.rejects(
      helpers.run(cwd, ["sleep", marker], 300),
      (err: HelperError) => err instanceof HelperError && err.timedOut,
    );
    assert.ok(performance.now() - t0 < 5_000, "the timeout fired");
    await waitFor("the hung git to be killed", () => sleeping(marker).length === 0, { timeout: 5_000 });
    const r = await helpers.run(cwd, ["after"], 10_000);
    assert.equal(r.stdout.toString(), `${cwd}|after|`);
  } finally {
    helpers.close();
  }
});

test("a helper that dies under a call fails only that call; the next call gets a new helper", async () => {
  const { helpers, cwd, marker } = fake(1);
  try {
    const call = helpers.run(cwd, ["sleep", marker], 30_000);
    // The helper is the sleep's parent: kill it (not the sleep) as an OOM killer would.
    const helperPid = await waitFor(
      "the helper running the call",
      () => {
        const [pid] = sleeping(marker);
        return pid
          ? Number(execFileSync("ps", ["-o", "ppid=", "-p", String(pid)], { encoding: "utf8" }).trim()) || undefined
          : undefined;
      },
      { timeout: 5_000 },
    );
    process.kill(helperPid, "SIGKILL");
    await assert.rejects(call, (err: HelperError) => err instanceof HelperError && !err.timedOut);
    const r = await helpers.run(cwd, ["again"], 10_000);
    assert.equal(r.stdout.toString(), `${cwd}|again|`);
  } finally {
    spawnSync("pkill", ["-f", `sleep ${marker}`]);
    helpers.close();
  }
});

/** Whether a process runs (a zombie not yet reaped does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

test("a helper unused for idleMs ends (its sh exits); a call within it reuses the helper, one after starts a new one", async () => {
  const helpers = new GitHelpers(fakeGit(), () => ({ PATH: process.env.PATH }), 2, 300);
  const cwd = tempDir("mirror-git-helper-");
  try {
    assert.equal((await helpers.run(cwd, ["one"], 10_000)).stdout.toString(), `${cwd}|one|`);
    const [pid] = helpers.pids;
    assert.ok(pid !== undefined && running(pid), "a helper ran the call and waits for the next");
    assert.equal((await helpers.run(cwd, ["two"], 10_000)).stdout.toString(), `${cwd}|two|`);
    assert.deepEqual(helpers.pids, [pid], "the same helper, within idleMs");
    await waitFor("the unused helper to end", () => !running(pid) && helpers.pids.length === 0, { timeout: 5_000 });
    assert.equal((await helpers.run(cwd, ["three"], 10_000)).stdout.toString(), `${cwd}|three|`);
    assert.equal(helpers.pids.length, 1);
    assert.notEqual(helpers.pids[0], pid, "a new helper");
  } finally {
    helpers.close();
  }
});
