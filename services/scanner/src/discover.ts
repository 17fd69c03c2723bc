import { type Dirent, promises as fs, lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { excludeMatcher } from "./exclude.js";

export type RepoKind = "repo" | "worktree" | "submodule";

/** One repository found on disk: its worktree, where its git data lives, and what it is. */
export interface FoundRepo {
  /** Real absolute path of the worktree (the repo's identity). */
  path: string;
  kind: RepoKind;
  /** This worktree's git dir (HEAD, index, operation files). */
  gitDir: string;
  /** The shared git dir (refs, objects, config, stash log); equals gitDir for a plain repo. */
  commonDir: string;
  /** The configured root it was found under. */
  root: string;
}

/** Something discovery could not look at; reported, never fatal. */
export interface DiscoveryProblem {
  path: string;
  reason: "root_missing" | "root_not_directory" | "permission_denied" | "unreadable" | "bad_gitfile";
  message: string;
}

export interface DiscoverOptions {
  maxDepth: number;
  exclude: readonly string[];
}

export interface Discovery {
  repos: FoundRepo[];
  problems: DiscoveryProblem[];
}

function problemOf(path: string, err: unknown): DiscoveryProblem {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === "EACCES" || code === "EPERM" ? "permission_denied" : "unreadable";
  return { path, reason, message: (err as Error).message };
}

/** Resolves a `.git` file ("gitdir: ...") to the worktree's git dir and kind. */
async function fromGitFile(dir: string, gitFile: string): Promise<Omit<FoundRepo, "path" | "root">> {
  const text = (await fs.readFile(gitFile, "utf8")).trim();
  const m = /^gitdir: (.+)$/m.exec(text);
  if (!m) throw new Error(`not a gitdir file: ${gitFile}`);
  const gitDir = await fs.realpath(resolve(dir, (m[1] as string).trim()));
  const commonFile = await fs.readFile(join(gitDir, "commondir"), "utf8").catch(() => undefined);
  if (commonFile !== undefined) {
    return { kind: "worktree", gitDir, commonDir: await fs.realpath(resolve(gitDir, commonFile.trim())) };
  }
  return { kind: /[\\/]modules[\\/]/.test(gitDir) ? "submodule" : "repo", gitDir, commonDir: gitDir };
}

/** A folder that is itself a bare repository (HEAD, objects/ and refs/ with no worktree). */
function looksBare(names: Set<string>): boolean {
  return names.has("HEAD") && names.has("objects") && names.has("refs") && !names.has(".git");
}

interface Walk {
  opts: DiscoverOptions;
  /** Real paths of the roots: a symlink is followed only when its target stays inside one. */
  realRoots: string[];
  isExcluded: ReturnType<typeof excludeMatcher>;
  seen: Set<string>;
  out: Discovery;
}

/** Folders between yields to the event loop: the walk's calls are synchronous (cached stats cost microseconds). */
const YIELD_EVERY = 64;

/** Visits `dir`, a real path (symlinks are resolved before descending), down to maxDepth. */
async function visit(w: Walk, root: string, dir: string, depth: number): Promise<void> {
  let entries: Dirent[];
  try {
    const st = statSync(dir);
    // Symlinked folders are followed once: the device+inode set ends loops and duplicates.
    const id = `${st.dev}:${st.ino}`;
    if (w.seen.has(id)) return;
    w.seen.add(id);
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    w.out.problems.push(problemOf(dir, err));
    return;
  }
  if (w.seen.size % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
  const names = new Set(entries.map((e) => e.name));
  if (looksBare(names)) return;
  if (names.has(".git")) await addRepo(w, root, dir);
  if (depth >= w.opts.maxDepth) return;
  for (const e of entries) {
    if (e.name === ".git" || !(e.isDirectory() || e.isSymbolicLink())) continue;
    const child = join(dir, e.name);
    if (w.isExcluded(e.name, relative(root, child))) continue;
    const next = e.isSymbolicLink() ? followable(w, child) : child;
    if (next) await visit(w, root, next, depth + 1);
  }
}

export const isWithin = (path: string, root: string) =>
  path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);

/** The real folder a symlink leads to, if it stays inside the roots (else the scan could escape them). */
function followable(w: Walk, link: string): string | undefined {
  try {
    const real = realpathSync.native(link);
    return w.realRoots.some((r) => isWithin(real, r)) && statSync(real).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

async function addRepo(w: Walk, root: string, dir: string): Promise<void> {
  try {
    const repo = await repoAt(dir, root);
    if (repo) w.out.repos.push(repo);
  } catch (err) {
    w.out.problems.push({ path: dir, reason: "bad_gitfile", message: (err as Error).message });
  }
}

/** The repo whose worktree is exactly `dir` (a real path), or undefined when `dir` has no `.git`. */
export async function repoAt(dir: string, root: string): Promise<FoundRepo | undefined> {
  const gitPath = join(dir, ".git");
  const st = lstatSync(gitPath, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (st.isDirectory() || (st.isSymbolicLink() && statSync(gitPath, { throwIfNoEntry: false })?.isDirectory())) {
    const gitDir = st.isDirectory() ? gitPath : await fs.realpath(gitPath);
    return { path: dir, kind: "repo", gitDir, commonDir: gitDir, root };
  }
  return { path: dir, root, ...(await fromGitFile(dir, gitPath)) };
}

/** Finds every git worktree under `roots` (bare repos skipped); problems are collected, not thrown. */
export async function discover(roots: readonly string[], opts: DiscoverOptions): Promise<Discovery> {
  const realRoots = (await Promise.all(roots.map((r) => fs.realpath(resolve(r)).catch(() => undefined)))).filter(
    (r): r is string => !!r,
  );
  const w: Walk = {
    opts,
    realRoots,
    isExcluded: excludeMatcher(opts.exclude),
    seen: new Set(),
    out: { repos: [], problems: [] },
  };
  for (const raw of roots) {
    const root = resolve(raw);
    const st = await fs.stat(root).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      const missing = st.code === "ENOENT" || st.code === "ENOTDIR";
      w.out.problems.push(
        missing ? { path: root, reason: "root_missing", message: `root ${root} does not exist` } : problemOf(root, st),
      );
      continue;
    }
    if (!st.isDirectory()) {
      w.out.problems.push({ path: root, reason: "root_not_directory", message: `root ${root} is not a folder` });
      continue;
    }
    await visit(w, await fs.realpath(root), root, 0);
  }
  return w.out;
}
