import { createHash, type Hash } from "node:crypto";
import { type BigIntStats, promises as fs } from "node:fs";
import { join } from "node:path";
import type { FoundRepo } from "./discover.js";

/**
 * A cheap summary of everything a snapshot is read from, built with stat calls only: when it
 * is unchanged since the last scan, running git again would give the same snapshot.
 *
 * Git replaces HEAD, the index, refs and the operation markers by writing a lock file and
 * renaming it, so the mtime of the folder holding them changes on every update: stat-ing the
 * git dirs and every folder under refs/ catches each change without reading a ref. In the
 * worktree every file and folder is stat-ed (mtime, ctime, size, inode), except the `.git`
 * entry, paths git reported as ignored (node_modules/, build output) and nested repositories,
 * which are scanned on their own.
 */
export interface FingerprintInput {
  repo: FoundRepo;
  /** Worktree-relative paths git reported as ignored (folders end with "/"). */
  ignored: ReadonlySet<string>;
}

function add(h: Hash, name: string, st: BigIntStats | undefined): void {
  h.update(name);
  h.update(st ? `\0${st.mtimeNs}\0${st.ctimeNs}\0${st.size}\0${st.ino}\0${st.mode}\n` : "\0-\n");
}

const lstat = (p: string) => fs.lstat(p, { bigint: true }).catch(() => undefined);

const GITDIR_FILES = ["", "HEAD", "index", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "BISECT_LOG", "rebase-merge", "rebase-apply", "commondir", "config.worktree"];
const COMMON_FILES = ["", "packed-refs", "config", "config.worktree", "info/exclude", "logs/refs/stash"];

async function addGitData(h: Hash, repo: FoundRepo): Promise<void> {
  const files = [...GITDIR_FILES.map((f) => join(repo.gitDir, f)), ...COMMON_FILES.map((f) => join(repo.commonDir, f))];
  const stats = await Promise.all(files.map(lstat));
  for (let i = 0; i < files.length; i++) add(h, files[i] as string, stats[i]);
  await addDirs(h, join(repo.commonDir, "refs"));
}

/** Folder mtimes of a refs tree (a ref update renames a lock file in its folder). */
async function addDirs(h: Hash, dir: string): Promise<void> {
  add(h, dir, await lstat(dir));
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await addDirs(h, join(dir, e.name));
}

async function addWorktree(h: Hash, root: string, rel: string, ignored: ReadonlySet<string>): Promise<void> {
  const dir = rel ? join(root, rel) : root;
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return add(h, `${rel}/?`, undefined);
  // A nested repository or submodule is scanned on its own; its folder's own stat is enough here.
  if (rel && entries.some((e) => e.name === ".git")) return;
  const children = entries.filter((e) => !(rel === "" && e.name === ".git"));
  const stats = await Promise.all(children.map((e) => lstat(join(dir, e.name))));
  const subdirs: string[] = [];
  children.forEach((e, i) => {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (ignored.has(path) || ignored.has(`${path}/`)) return;
    add(h, path, stats[i]);
    if (e.isDirectory()) subdirs.push(path);
  });
  for (const sub of subdirs) await addWorktree(h, root, sub, ignored);
}

/** The fingerprint of one repo's git data and worktree. */
export async function fingerprint(input: FingerprintInput): Promise<string> {
  const h = createHash("sha1");
  await addGitData(h, input.repo);
  await addWorktree(h, input.repo.path, "", input.ignored);
  return h.digest("hex");
}
