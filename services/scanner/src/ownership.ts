import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FoundRepo } from "./discover.js";
import { statOf } from "./quick-fs.js";

/** Who owns a repository the scanner will not open, as the snapshot reports it. */
export interface ForeignOwner {
  uid: number;
  /** The owner's user name, when the passwd file names the uid. */
  user: string | null;
}

/**
 * Whether the scanner may open a repo: git's own rule (the worktree, its `.git` and the git
 * dir belong to the user running git), or an owner listed in `scanner.trustedOwners`, in which
 * case git is told so for this repo only (`safe.directory`). Decided before any git process
 * runs, so an untrusted repo's config is never read; git still checks again on every call.
 */
export type Trust = { trusted: true; safeDirectory: string | null } | { trusted: false; owner: ForeignOwner };

let names: Map<number, string> | undefined;

/** uid -> user name from /etc/passwd (read once; a missing file names no one). */
function userName(uid: number): string | null {
  if (!names) {
    names = new Map();
    let text = "";
    try {
      text = readFileSync("/etc/passwd", "utf8");
    } catch {
      // no passwd file: uids only
    }
    for (const line of text.split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id && /^\d+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name);
    }
  }
  return names.get(uid) ?? null;
}

/** The first of the paths git checks that another user owns, if any. */
function foreignUid(repo: FoundRepo, me: number): number | undefined {
  for (const path of [repo.path, join(repo.path, ".git"), repo.gitDir]) {
    const st = statOf(path, { link: true });
    if (st && st.uid !== me) return st.uid;
  }
  return undefined;
}

/** Whether `repo` may be opened, given the owners the config trusts (user names or uids). */
export function trustOf(repo: FoundRepo, trustedOwners: ReadonlyArray<string | number>): Trust {
  if (typeof process.geteuid !== "function") return { trusted: true, safeDirectory: null };
  const uid = foreignUid(repo, process.geteuid());
  if (uid === undefined) return { trusted: true, safeDirectory: null };
  const user = userName(uid);
  const listed = trustedOwners.some((o) => String(o) === String(uid) || (user !== null && o === user));
  return listed ? { trusted: true, safeDirectory: repo.path } : { trusted: false, owner: { uid, user } };
}

/** The sentence the snapshot and the `repo.untrusted` loop carry. */
export function untrustedMessage(owner: ForeignOwner): string {
  const who = owner.user ? `uid ${owner.uid} / user ${owner.user}` : `uid ${owner.uid}`;
  return `owned by ${who}, not in scanner.trustedOwners; not scanned`;
}
