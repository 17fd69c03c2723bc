import { join } from "node:path";
import { readCommit } from "./objects.js";
import { listDir, readText, statOf } from "./quick-fs.js";

/** Commits read at most per walk: a young repo is answered here, a long history is left to git. */
const WALK_BUDGET = 1_000;

/**
 * Whether the history git walks may differ from the commits' own parent lines: a shallow
 * clone, grafts, replace refs (loose or packed) or a moved replace-ref base.
 */
function historyRewritten(commonDir: string): boolean {
  if (process.env.GIT_REPLACE_REF_BASE !== undefined) return true;
  if (statOf(join(commonDir, "shallow")) || statOf(join(commonDir, "info", "grafts"))) return true;
  if ((listDir(join(commonDir, "refs", "replace"))?.length ?? 0) > 0) return true;
  return readText(join(commonDir, "packed-refs"))?.includes(" refs/replace/") ?? false;
}

/**
 * Which of `tips` are reachable from commit `from` (are merged into it), found by walking
 * parents through the object store: what `git for-each-ref --merged` answers, without a git
 * process. Undefined when it cannot be answered for sure here (history rewritten, a commit not
 * readable without git, more than `budget` commits to walk): the caller asks git.
 */
export function reachableFrom(
  commonDir: string,
  from: string,
  tips: ReadonlySet<string>,
  budget = WALK_BUDGET,
): Set<string> | undefined {
  if (historyRewritten(commonDir)) return undefined;
  const found = new Set<string>();
  const seen = new Set([from]);
  const queue = [from];
  for (let sha = queue.pop(); sha !== undefined; sha = queue.pop()) {
    if (tips.has(sha)) {
      found.add(sha);
      if (found.size === tips.size) return found;
    }
    if (seen.size > budget) return undefined;
    const commit = readCommit(commonDir, sha);
    if (!commit) return undefined;
    for (const p of commit.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      queue.push(p);
    }
  }
  return found;
}
