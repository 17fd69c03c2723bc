import { realpathSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commitAll, git, makeRepo, tempDir } from "@mirror/testkit";
import { readBranches } from "../src/branches.js";
import { type FoundRepo, repoAt } from "../src/discover.js";
import { runGit } from "../src/git.js";
import { listLocalBranches } from "../src/local-refs.js";
import { parseStatus } from "../src/porcelain.js";
import { sharedConfigCache } from "../src/repo-config.js";
import { readRepo } from "../src/snapshot.js";

/** A fresh real-path temp folder (so paths compare equal to what the scanner reports). */
export function realTemp(): string {
  return realpathSync(tempDir());
}

/** Reads the repo at `dir` the way the scanner does. */
export async function read(dir: string, maxUntracked = 10_000, trustedOwners: Array<string | number> = []) {
  const repo = (await repoAt(realpathSync(dir), realpathSync(dir))) as FoundRepo;
  return (await readRepo(repo, { maxUntracked, trustedOwners })).body;
}

/** Writes a file and sets its mtime, so dirty-since has a known answer. */
export function writeAt(path: string, text: string, at: Date): void {
  writeFileSync(path, text);
  utimesSync(path, at, at);
}

/** A bare remote with one commit on main, and a clone of it. */
export function remoteAndClone(dir: string): { bare: string; clone: string } {
  const seed = makeRepo(join(dir, "seed"));
  const bare = join(dir, "remote.git");
  git(dir, "clone", "-q", "--bare", seed, bare);
  const clone = join(dir, "clone");
  git(dir, "clone", "-q", bare, clone);
  return { bare, clone };
}

/** Commits a new file in `repo`. */
export function commitFile(repo: string, name: string, text = `${name}\n`): void {
  writeFileSync(join(repo, name), text);
  commitAll(repo, `add ${name}`);
}

/** readBranches on the repo at `dir` as the scanner calls it (status, refs and config read beforehand), with the git calls it made. */
export async function readBranchesTraced(dir: string) {
  const found = (await repoAt(dir, dir)) as FoundRepo;
  const status = parseStatus(await runGit(dir, ["status", "--porcelain=v2", "--branch", "-z"]));
  const calls: string[][] = [];
  const g = (args: readonly string[]) => {
    calls.push([...args]);
    return runGit(dir, args);
  };
  const config = await sharedConfigCache.read(found, null);
  const state = await readBranches(found, g, {
    status,
    local: await listLocalBranches(found.commonDir),
    tracked: config.trackedBranches,
  });
  return { state, calls };
}
