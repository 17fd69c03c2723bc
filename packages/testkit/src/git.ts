import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const GIT_ENV = {
  GIT_AUTHOR_NAME: "Mirror Test",
  GIT_AUTHOR_EMAIL: "test@mirror.invalid",
  GIT_COMMITTER_NAME: "Mirror Test",
  GIT_COMMITTER_EMAIL: "test@mirror.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: tmpdir(),
};

/** Runs git in `cwd` and returns stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    env: { ...process.env, ...GIT_ENV },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A fresh temp folder. */
export function tempDir(prefix = "mirror-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Creates a git repo at `dir` with one commit on `main`. */
export function makeRepo(dir: string, files: Record<string, string> = { "README.md": "hello\n" }): string {
  mkdirSync(dir, { recursive: true });
  git(dir, "init", "-q", "-b", "main");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "initial");
  return dir;
}

/** Commits everything in the repo. */
export function commitAll(dir: string, message = "change"): void {
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", message);
}
