import { createHash, type Hash } from "node:crypto";
import { type Dirent, lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { FoundRepo } from "./discover.js";

/**
 * A cheap summary of everything a snapshot is read from, built with stat calls only: when it
 * is unchanged since the last scan, running git again would give the same snapshot.
 *
 * Git replaces HEAD, the index, refs, packed-refs, its config and the operation markers by
 * writing a lock file and renaming it, so the mtime of the folder holding them changes on
 * every update: stat-ing the git dirs and every folder under refs/ catches each change
 * without reading a ref. Files written in place (the stash reflog, info/exclude, a config
 * edited by hand) are stat-ed themselves. In the worktree every file and folder is stat-ed
 * (mtime, ctime, size, inode), except the `.git` entry, paths git reported as ignored
 * (node_modules/, build output) and nested repositories, which are scanned on their own.
 *
 * The calls are synchronous (a stat of a cached inode costs microseconds, far less than a
 * thread-pool round trip), with a yield to the event loop every few hundred calls.
 */
export interface FingerprintInput {
  repo: FoundRepo;
  /** Worktree-relative paths git reported as ignored (folders end with "/"). */
  ignored: ReadonlySet<string>;
}

const YIELD_EVERY = 512;

class Walker {
  private readonly h: Hash = createHash("sha1");
  private calls = 0;

  async tick(): Promise<void> {
    if (++this.calls % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
  }

  // Millisecond floats keep sub-microsecond precision for today's dates; BigInt stats cost more.
  add(name: string, st: Stats | undefined): void {
    this.h.update(st ? `${name}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.size}\0${st.ino}\0${st.mode}\n` : `${name}\0-\n`);
  }

  stat(path: string): Stats | undefined {
    return lstatSync(path, { throwIfNoEntry: false });
  }

  list(dir: string): Dirent[] | undefined {
    try {
      return readdirSync(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
  }

  digest(): string {
    return this.h.digest("hex");
  }
}

const GITDIR_FILES = ["", "config.worktree"];
const COMMON_FILES = ["", "config", "info/exclude", "logs/refs/stash"];

/** Folder mtimes of a refs tree (a ref update renames a lock file in its folder). */
async function addDirs(w: Walker, dir: string): Promise<void> {
  w.add(dir, w.stat(dir));
  await w.tick();
  for (const e of w.list(dir) ?? []) if (e.isDirectory()) await addDirs(w, join(dir, e.name));
}

async function addWorktree(w: Walker, root: string, rel: string, ignored: ReadonlySet<string>): Promise<void> {
  const dir = rel ? join(root, rel) : root;
  const entries = w.list(dir);
  if (!entries) return w.add(`${rel}/?`, undefined);
  // A nested repository or submodule is scanned on its own; its folder's own stat is enough here.
  if (rel && entries.some((e) => e.name === ".git")) return;
  const subdirs: string[] = [];
  for (const e of entries) {
    if (rel === "" && e.name === ".git") continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (ignored.has(path) || ignored.has(`${path}/`)) continue;
    w.add(path, w.stat(join(dir, e.name)));
    await w.tick();
    if (e.isDirectory()) subdirs.push(path);
  }
  for (const sub of subdirs) await addWorktree(w, root, sub, ignored);
}

/** The fingerprint of one repo's git data and worktree. */
export async function fingerprint(input: FingerprintInput): Promise<string> {
  const w = new Walker();
  const { repo } = input;
  // The worktree folder's own stat: a change of owner (trust) shows in its ctime.
  w.add("w/", w.stat(repo.path));
  for (const f of GITDIR_FILES) w.add(`g/${f}`, w.stat(join(repo.gitDir, f)));
  for (const f of COMMON_FILES) w.add(`c/${f}`, w.stat(join(repo.commonDir, f)));
  await addDirs(w, join(repo.commonDir, "refs"));
  await addWorktree(w, repo.path, "", input.ignored);
  return w.digest();
}
