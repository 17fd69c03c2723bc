import { type RepoSnapshot, repoKey } from "@mirror/contracts";

/**
 * A synthetic repo snapshot as the scanner publishes it (about 500 bytes of JSON): tracking an
 * upstream, nothing ahead or behind, so that the only rule it can trip is `repo.dirty`.
 */
export function snapshot(path: string, seq: number, dirty: boolean, observedAt = new Date()): RepoSnapshot {
  const at = observedAt.toISOString();
  return {
    repoKey: repoKey(path),
    path,
    observedAt: at,
    seq,
    kind: "repo",
    branch: "main",
    detached: false,
    head: { sha: "4b825dc642cb6eb9a060e54bf8d69288fbee4904", committedAt: "2025-01-01T00:00:00.000Z" },
    upstream: "origin/main",
    ahead: 0,
    behind: 0,
    staged: 0,
    unstaged: dirty ? 2 : 0,
    untracked: dirty ? 1 : 0,
    untrackedCapped: false,
    conflicted: 0,
    dirtySince: dirty ? "2025-01-01T00:00:00.000Z" : null,
    stashes: { count: 0, oldestAt: null },
    branches: [],
    defaultBranch: "main",
    operation: null,
    operationSince: null,
    hasRemote: true,
    error: null,
    untrusted: null,
  };
}

/** The encoded payloads the raw baseline publishes: the same JSON the bus sends. */
export function payloads(paths: string[]): Uint8Array[] {
  const enc = new TextEncoder();
  return paths.map((p, i) => enc.encode(JSON.stringify(snapshot(p, i + 1, true))));
}
