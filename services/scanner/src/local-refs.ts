import { join } from "node:path";
import { listDir, readText, statOf } from "./quick-fs.js";

/**
 * Local branches and their tips read from the ref store (loose files under refs/heads, then
 * packed-refs), without a git process. A tip is undefined when it is not a plain sha (a
 * symbolic ref); the whole answer is undefined when packed-refs exists but cannot be read.
 */
export async function listLocalBranches(commonDir: string): Promise<Map<string, string | undefined> | undefined> {
  const tips = new Map<string, string | undefined>();
  const walk = (dir: string, prefix: string): void => {
    for (const e of listDir(dir) ?? []) {
      if (e.name.endsWith(".lock")) continue;
      if (e.isDirectory()) walk(join(dir, e.name), `${prefix}${e.name}/`);
      else tips.set(`${prefix}${e.name}`, /^([0-9a-f]{40})\s*$/.exec(readText(join(dir, e.name)) ?? "")?.[1]);
    }
  };
  walk(join(commonDir, "refs", "heads"), "");
  const packedPath = join(commonDir, "packed-refs");
  const packed = readText(packedPath) ?? (statOf(packedPath) ? undefined : "");
  if (packed === undefined) return undefined;
  for (const line of packed.split("\n")) {
    const m = /^([0-9a-f]{40}) refs\/heads\/(.+)$/.exec(line);
    if (m && !tips.has(m[2] as string)) tips.set(m[2] as string, m[1]);
  }
  return tips;
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
