import { join } from "node:path";
import { listDir, readText, statOf } from "./quick-fs.js";

/**
 * Local branch names read from the ref store (loose files under refs/heads and packed-refs),
 * without a git process. Used only to learn whether a repo has a single branch, in which case
 * `git status` already told everything about it and for-each-ref is not needed.
 */
export async function listLocalBranches(commonDir: string): Promise<string[] | undefined> {
  const names = new Set<string>();
  const walk = (dir: string, prefix: string): void => {
    for (const e of listDir(dir) ?? []) {
      if (e.name.endsWith(".lock")) continue;
      if (e.isDirectory()) walk(join(dir, e.name), `${prefix}${e.name}/`);
      else names.add(`${prefix}${e.name}`);
    }
  };
  walk(join(commonDir, "refs", "heads"), "");
  const packedPath = join(commonDir, "packed-refs");
  const packed = readText(packedPath) ?? (statOf(packedPath) ? undefined : "");
  if (packed === undefined) return undefined;
  for (const line of packed.split("\n")) {
    const m = /^[0-9a-f]{40,64} refs\/heads\/(.+)$/.exec(line);
    if (m) names.add(m[1] as string);
  }
  return [...names];
}

/** The branch a remote's HEAD points at ("main" from refs/remotes/origin/HEAD), origin first. */
export async function readRemoteDefault(commonDir: string): Promise<string | null> {
  const remotesDir = join(commonDir, "refs", "remotes");
  const remotes = (listDir(remotesDir) ?? []).map((d) => d.name);
  for (const remote of ["origin", ...remotes.filter((r) => r !== "origin").sort()]) {
    const text = readText(join(remotesDir, remote, "HEAD")) ?? "";
    const m = /^ref: refs\/remotes\/[^/]+\/(.+)$/m.exec(text.trim());
    if (m) return m[1] as string;
  }
  return null;
}
