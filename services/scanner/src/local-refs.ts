import { type Dirent, promises as fs } from "node:fs";
import { join } from "node:path";

/**
 * Local branch names read from the ref store (loose files under refs/heads and packed-refs),
 * without a git process. Used only to learn whether a repo has a single branch, in which case
 * `git status` already told everything about it and for-each-ref is not needed.
 */
export async function listLocalBranches(commonDir: string): Promise<string[] | undefined> {
  const names = new Set<string>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries: Dirent[] = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.endsWith(".lock")) continue;
      if (e.isDirectory()) await walk(join(dir, e.name), `${prefix}${e.name}/`);
      else names.add(`${prefix}${e.name}`);
    }
  };
  await walk(join(commonDir, "refs", "heads"), "");
  const packed = await fs.readFile(join(commonDir, "packed-refs"), "utf8").catch((err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? "" : undefined));
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
  const remotes = await fs.readdir(remotesDir).catch(() => [] as string[]);
  for (const remote of ["origin", ...remotes.filter((r) => r !== "origin").sort()]) {
    const text = await fs.readFile(join(remotesDir, remote, "HEAD"), "utf8").catch(() => "");
    const m = /^ref: refs\/remotes\/[^/]+\/(.+)$/m.exec(text.trim());
    if (m) return m[1] as string;
  }
  return null;
}
