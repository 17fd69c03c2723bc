import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { FoundRepo } from "./discover.js";
import { runGit } from "./git.js";
import { inertArgs, splitKey } from "./inert.js";
import { statOf } from "./quick-fs.js";

/**
 * What the scanner needs from a repository's configuration, as git itself resolves it
 * (`git config --list`: its own parser, includes, includeIf gitdir/onbranch/hasconfig,
 * config.worktree). Reading config runs no program. Nothing here parses a config file.
 */
export interface RepoConfig {
  hasRemote: boolean;
  /** Branches with an upstream configured (`branch.<name>.merge`). */
  trackedBranches: string[];
  /** Global options for every git call in this repo: its drivers inert, safe.directory if trusted. */
  args: string[];
  /** Extra global options for a fetch: the owner's own credential helpers (system and global config). */
  fetchArgs: string[];
  /** The owner's own `core.sshCommand` (system or global config), for fetch. */
  sshCommand: string | null;
  /**
   * Keys the repo sets that would name a program for a fetch: a remote helper
   * (`remote.<name>.vcs`), or an upload-pack in a partial clone. Such a repo is not fetched.
   */
  fetchRefused: string[];
}

/** One entry of `git config --list --show-scope --show-origin -z`. */
export interface ConfigEntry {
  scope: string;
  /** The file it came from (absolute), or null for config not from a file. */
  file: string | null;
  key: string;
  value: string | null;
}

/** How git spells false (anything else, or no value, is true). */
const FALSE = new Set(["false", "no", "off", "0", ""]);

/** Scopes that are the owner's (outside any repository). */
const OWNER_SCOPES = new Set(["system", "global"]);

/** Parses the -z listing: `scope NUL origin NUL key [LF value] NUL`, repeated. */
export function parseConfigList(out: string, cwd: string): ConfigEntry[] {
  const parts = out.split("\0");
  const entries: ConfigEntry[] = [];
  for (let i = 0; i + 2 < parts.length; i += 3) {
    const origin = parts[i + 1] as string;
    const kv = parts[i + 2] as string;
    const nl = kv.indexOf("\n");
    entries.push({
      scope: parts[i] as string,
      file: origin.startsWith("file:") ? resolve(cwd, origin.slice(5)) : null,
      key: nl < 0 ? kv : kv.slice(0, nl),
      value: nl < 0 ? null : kv.slice(nl + 1),
    });
  }
  return entries;
}

/** What the entries mean for the scanner (pure). */
export function interpret(entries: readonly ConfigEntry[], safeDirectory: string | null): RepoConfig {
  const out: RepoConfig = {
    hasRemote: false,
    trackedBranches: [],
    args: [],
    fetchArgs: [],
    sshCommand: null,
    fetchRefused: [],
  };
  let partial = false;
  const uploadPacks: string[] = [];
  for (const e of entries) {
    const { section, sub, name } = splitKey(e.key);
    if (
      e.key === "extensions.partialclone" ||
      (section === "remote" && name === "promisor" && !FALSE.has(e.value?.toLowerCase() ?? "true"))
    )
      partial = true;
    if (section === "remote" && sub !== null) {
      out.hasRemote = true;
      if (name === "vcs" && !OWNER_SCOPES.has(e.scope)) out.fetchRefused.push(e.key);
      if (name === "uploadpack" && !OWNER_SCOPES.has(e.scope)) uploadPacks.push(e.key);
    }
    if (section === "branch" && sub !== null && name === "merge") out.trackedBranches.push(sub);
    if (!OWNER_SCOPES.has(e.scope) || e.value === null) continue;
    if (e.key === "core.sshcommand") out.sshCommand = e.value;
    // The owner's credential helpers come back after the blanket reset, for fetch only.
    if (section === "credential" && name === "helper" && !e.key.includes("=") && !e.value.includes("\n"))
      out.fetchArgs.push("-c", `${e.key}=${e.value}`);
  }
  // A partial clone's fetch may fetch missing objects in a git of its own, which runs the repo's
  // upload-pack (the fetch's --upload-pack does not reach it): such a repo is not fetched.
  if (partial) out.fetchRefused.push(...uploadPacks);
  out.args = [
    ...(safeDirectory ? ["-c", `safe.directory=${safeDirectory}`] : []),
    ...inertArgs(entries.filter((e) => e.scope !== "command").map((e) => e.key)),
  ];
  out.trackedBranches = [...new Set(out.trackedBranches)];
  return out;
}

/** The owner's config files git reads besides the repo's (they may add drivers, or includes). */
function ownerFiles(): string[] {
  const home = process.env.HOME ?? homedir();
  const xdg = process.env.XDG_CONFIG_HOME || join(home, ".config");
  return ["/etc/gitconfig", join(home, ".gitconfig"), join(xdg, "git", "config")];
}

const baseInputs = (repo: FoundRepo) => [
  join(repo.commonDir, "config"),
  join(repo.gitDir, "config.worktree"),
  ...ownerFiles(),
];

/**
 * Every file whose change could change what git resolves: the repo's config files, the owner's,
 * each file git read, each file an include names (present or not), and HEAD when an include
 * depends on the branch. Undefined when an include cannot be located here (`~user/`, `%(prefix)/`).
 */
function inputsOf(repo: FoundRepo, entries: readonly ConfigEntry[]): string[] | undefined {
  const files = new Set(baseInputs(repo));
  for (const e of entries) {
    if (e.file) files.add(e.file);
    const { section, name, sub } = splitKey(e.key);
    if (name !== "path" || !(section === "include" || section === "includeif") || e.value === null) continue;
    if (section === "includeif" && sub?.startsWith("onbranch:")) files.add(join(repo.gitDir, "HEAD"));
    const v = e.value;
    // `~user/` and `%(prefix)/` are expanded by git in ways not mirrored here: such a repo is not cached.
    if ((v.startsWith("~") && !v.startsWith("~/")) || v.startsWith("%(")) return undefined;
    if (v.startsWith("~/")) files.add(join(process.env.HOME ?? homedir(), v.slice(2)));
    else if (isAbsolute(v)) files.add(v);
    else if (e.file) files.add(resolve(dirname(e.file), v));
    else return undefined;
  }
  return [...files];
}

function statLine(f: string): string {
  const st = statOf(f);
  return st ? `${f}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.size}\0${st.ino}` : `${f}\0-`;
}

const stamp = (files: readonly string[], known?: ReadonlyMap<string, string>) =>
  files.map((f) => known?.get(f) ?? statLine(f)).join("\n");

interface Cached {
  files: string[];
  stamp: string;
  config: RepoConfig;
}

/**
 * Resolved config per repo, kept while none of its input files changed (stat calls only): a
 * rescan of an unchanged repo costs no `git config` process.
 */
export class RepoConfigCache {
  private readonly byRepo = new Map<string, Cached>();
  /** `git config` processes run (for tests and the bench). */
  resolved = 0;

  async read(repo: FoundRepo, safeDirectory: string | null, timeoutMs?: number): Promise<RepoConfig> {
    const id = `${repo.path}\0${safeDirectory ?? ""}`;
    const hit = this.byRepo.get(id);
    if (hit && stamp(hit.files) === hit.stamp) return hit.config;
    // Files are stat-ed before git reads them, so a change during the read shows at the next check.
    const before = new Map([...new Set([...(hit?.files ?? []), ...baseInputs(repo)])].map((f) => [f, statLine(f)]));
    const args = safeDirectory ? ["-c", `safe.directory=${safeDirectory}`] : [];
    const out = await runGit(repo.path, ["config", "--list", "--show-scope", "--show-origin", "-z"], {
      timeoutMs,
      repoConfig: args,
    });
    this.resolved++;
    const entries = parseConfigList(out.toString("utf8"), repo.path);
    const config = interpret(entries, safeDirectory);
    const inputs = inputsOf(repo, entries);
    if (inputs) this.byRepo.set(id, { files: inputs, stamp: stamp(inputs, before), config });
    else this.byRepo.delete(id);
    return config;
  }

  /** Forgets every repo not in `repos` (those a full scan no longer finds). */
  keep(repos: readonly FoundRepo[]): void {
    const paths = new Set(repos.map((r) => r.path));
    for (const id of this.byRepo.keys()) if (!paths.has(id.slice(0, id.indexOf("\0")))) this.byRepo.delete(id);
  }
}

/** The process's cache (the Scanner's, and the default of callers that pass none). */
export const sharedConfigCache = new RepoConfigCache();
