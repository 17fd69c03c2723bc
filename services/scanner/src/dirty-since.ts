import { dirname, join } from "node:path";
import type { StatusEntry } from "./porcelain.js";
import { statOf } from "./quick-fs.js";

/**
 * The oldest modification time among dirty paths: when the work that is still open began.
 * A deleted path has no mtime, so its folder's (changed by the deletion) stands in for it.
 * At most `limit` paths are looked at, so a repo with 100k untracked files stays cheap.
 */
export async function dirtySince(
  worktree: string,
  entries: readonly StatusEntry[],
  limit = 2_000,
): Promise<string | null> {
  let oldest = Number.POSITIVE_INFINITY;
  const root = Buffer.from(`${worktree}/`);
  let n = 0;
  for (const e of entries.slice(0, limit)) {
    if (e.kind === "ignored") continue;
    const st =
      statOf(Buffer.concat([root, e.bytes]), { link: true }) ?? statOf(dirname(join(worktree, e.path)), { link: true });
    if (st && st.mtimeMs < oldest) oldest = st.mtimeMs;
    if (++n % 256 === 0) await new Promise((r) => setImmediate(r));
  }
  return Number.isFinite(oldest) ? new Date(Math.floor(oldest)).toISOString() : null;
}
