import { realpathSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import { repoKey } from "@mirror/contracts";

/**
 * Why a repo event cannot be trusted, or null: its key must match its path and subject, and
 * with roots configured, the path must be inside one of them.
 */
export function checkRepoInput(path: string, key: string, token: string, roots: readonly string[]): string | null {
  if (!isAbsolute(path)) return `repo path "${path}" is not absolute`;
  if (key !== repoKey(path)) return `repoKey ${key} does not match the path ${path}`;
  if (token !== key) return `subject token ${token} does not match repoKey ${key}`;
  if (roots.length > 0 && !insideRoots(path, roots)) return `repo ${path} is outside the configured scanner.roots`;
  return null;
}

function insideRoots(path: string, roots: readonly string[]): boolean {
  const p = resolve(path);
  return roots.some((root) =>
    [resolve(root), real(root)].some((r) => r !== null && (p === r || p.startsWith(r.endsWith(sep) ? r : r + sep))),
  );
}

function real(path: string): string | null {
  try {
    // One realpath(3) call; the JS realpathSync lstat()s every path component, for every snapshot.
    return realpathSync.native(resolve(path));
  } catch {
    return null;
  }
}
