import { join } from "node:path";
import type { RepoOperation } from "@mirror/contracts";
import { readText, statOf } from "./quick-fs.js";

type Operation = (typeof RepoOperation.options)[number];

/** The files git leaves in the worktree's git dir while an operation is half done. */
const OPERATION_MARKERS: ReadonlyArray<[string, Operation]> = [
  ["rebase-merge", "rebase"],
  ["rebase-apply", "rebase"],
  ["MERGE_HEAD", "merge"],
  ["CHERRY_PICK_HEAD", "cherry-pick"],
  ["REVERT_HEAD", "revert"],
  ["BISECT_LOG", "bisect"],
];

/**
 * The operation in progress and since when, read from files: no git process. "Since" is the
 * marker's mtime; for a rebase, its head-name file's (written once when it starts), as the
 * folder's own mtime moves with every step.
 */
export async function readOperation(gitDir: string): Promise<{ operation: Operation | null; since: string | null }> {
  for (const [marker, operation] of OPERATION_MARKERS) {
    const st = statOf(join(gitDir, marker));
    if (!st) continue;
    const start = (st.isDirectory() && statOf(join(gitDir, marker, "head-name"))) || st;
    return { operation, since: new Date(start.mtimeMs).toISOString() };
  }
  return { operation: null, since: null };
}

/**
 * Stashes from the stash reflog (`logs/refs/stash` in the common dir): one line per stash,
 * oldest first, "<old> <new> <who> <unix-seconds> <tz>\t<message>".
 */
export async function readStashes(commonDir: string): Promise<{ count: number; oldestAt: string | null }> {
  const text = readText(join(commonDir, "logs", "refs", "stash"), "latin1") ?? "";
  const lines = text.split("\n").filter((l) => l.length > 0);
  let oldest: number | null = null;
  for (const line of lines) {
    const m = /> (\d+) [+-]\d{4}\t/.exec(line);
    if (m) oldest = Math.min(oldest ?? Number.POSITIVE_INFINITY, Number(m[1]));
  }
  return { count: lines.length, oldestAt: oldest === null ? null : new Date(oldest * 1000).toISOString() };
}
