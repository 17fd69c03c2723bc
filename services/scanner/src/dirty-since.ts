import { promises as fs } from "node:fs";
import { dirname, join } from "node:path";
import type { StatusEntry } from "./porcelain.js";

/**
 * The oldest modification time among dirty paths: when the work that is still open began.
 * A deleted path has no mtime, so its folder's (changed by the deletion) stands in for it.
 * At most `limit` paths are looked at, so a repo with 100k untracked files stays cheap.
 */
export async function dirtySince(worktree: string, entries: readonly StatusEntry[], limit = 2_000): Promise<string | null> {
  let oldest = Number.POSITIVE_INFINITY;
  const root = Buffer.from(`${worktree}/`);
  for (const e of entries.slice(0, limit)) {
    if (e.kind === "ignored") continue;
    const full = Buffer.concat([root, e.bytes]);
    const st = await fs.lstat(full).catch(() => fs.lstat(dirname(join(worktree, e.path))).catch(() => undefined));
    if (st && st.mtimeMs < oldest) oldest = st.mtimeMs;
  }
  return Number.isFinite(oldest) ? new Date(Math.floor(oldest)).toISOString() : null;
}
