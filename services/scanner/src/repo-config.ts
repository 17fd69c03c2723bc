import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { readText } from "./quick-fs.js";

/**
 * What the scanner needs from a repository's own config files, read as text (no git
 * process): whether it has a remote, and the filter drivers it defines. A repo's config is
 * not trusted: a `filter.<name>.clean` command would run during `git status`, so each one
 * found here is switched off for the scan. Drivers from the owner's global config stay on.
 */
export interface RepoConfig {
  hasRemote: boolean;
  filterDrivers: string[];
  /** Keys that make `git fetch` run a program of the repo's choosing; such a repo is not fetched. */
  fetchUnsafe: string[];
  /** Branches with an upstream configured (`branch.<name>.merge`). */
  trackedBranches: string[];
}

/** Keys (lowercase, subsection as "*") a fetch would run as a program or hand credentials to. */
const FETCH_UNSAFE = new Set(["core.sshcommand", "core.gitproxy", "credential.helper", "credential.*.helper", "remote.*.uploadpack", "remote.*.receivepack", "remote.*.vcs", "ssh.variant"]);

interface Section {
  name: string;
  sub: string | null;
  /** What follows the header on its line (git allows "[core] key = value"). */
  rest: string;
}

/** `[remote "origin"]`, `[filter "x"]`, `[include]` and the deprecated `[filter.x]` forms. */
function parseSectionHeader(line: string): Section | undefined {
  const quoted = /^\[\s*([A-Za-z0-9.-]+)\s+"((?:[^"\\]|\\.)*)"\s*\]/.exec(line);
  if (quoted) return { name: (quoted[1] as string).toLowerCase(), sub: (quoted[2] as string).replace(/\\(.)/g, "$1"), rest: line.slice(quoted[0].length).trim() };
  const plain = /^\[\s*([A-Za-z0-9-]+)(?:\.([^\]\s]+))?\s*\]/.exec(line);
  if (plain) return { name: (plain[1] as string).toLowerCase(), sub: plain[2] ?? null, rest: line.slice(plain[0].length).trim() };
  return undefined;
}

function includePath(value: string, file: string): string {
  const v = value.trim().replace(/^"(.*)"$/, "$1");
  if (v.startsWith("~/")) return join(homedir(), v.slice(2));
  return isAbsolute(v) ? v : resolve(dirname(file), v);
}

/** Scans one config text; returns the files it includes. */
function scan(text: string, file: string, out: RepoConfig, drivers: Set<string>): string[] {
  const includes: string[] = [];
  let section: Section | undefined;
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line.startsWith("[")) {
      section = parseSectionHeader(line);
      if (section?.name === "remote" && section.sub !== null) out.hasRemote = true;
      if (section?.name === "filter" && section.sub !== null) drivers.add(section.sub);
      line = section?.rest ?? "";
    }
    if (!section || line.startsWith("#") || line.startsWith(";")) continue;
    const key = /^([A-Za-z][A-Za-z0-9-]*)/.exec(line)?.[1]?.toLowerCase();
    if (!key) continue;
    if ((section.name === "include" || section.name === "includeif") && key === "path" && line.includes("=")) {
      includes.push(includePath(line.slice(line.indexOf("=") + 1), file));
    }
    if (section.name === "branch" && section.sub !== null && key === "merge") out.trackedBranches.push(section.sub);
    const full = `${section.name}${section.sub === null ? "" : ".*"}.${key}`;
    if (FETCH_UNSAFE.has(full)) out.fetchUnsafe.push(`${section.name}${section.sub === null ? "" : `.${section.sub}`}.${key}`);
  }
  return includes;
}

/** Reads the repo's config, its worktree config and the files they include (three levels deep at most). */
export async function readRepoConfig(gitDir: string, commonDir: string): Promise<RepoConfig> {
  const out: RepoConfig = { hasRemote: false, filterDrivers: [], fetchUnsafe: [], trackedBranches: [] };
  const drivers = new Set<string>();
  let files = [join(commonDir, "config"), join(gitDir, "config.worktree")];
  const seen = new Set<string>();
  for (let depth = 0; depth < 4 && files.length; depth++) {
    const next: string[] = [];
    for (const file of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readText(file);
      if (text !== undefined) next.push(...scan(text, file, out, drivers));
    }
    files = next;
  }
  out.filterDrivers = [...drivers];
  return out;
}

/** Config entries (key, value) that switch off the repo's own filter drivers. */
export function disableFilters(drivers: readonly string[]): Array<[string, string]> {
  return drivers.flatMap((d): Array<[string, string]> => [
    [`filter.${d}.clean`, ""],
    [`filter.${d}.smudge`, ""],
    [`filter.${d}.process`, ""],
    [`filter.${d}.required`, "false"],
  ]);
}
