import { z } from "zod";
import { defineEvent } from "../event.js";
import { IsoTime } from "./common.js";

export const RepoOperation = z.enum(["merge", "rebase", "cherry-pick", "revert", "bisect"]);

export const RepoBranch = z.object({
  name: z.string(),
  lastCommitAt: IsoTime.nullable(),
  upstream: z.string().nullable(),
  /** Upstream configured but gone on the remote. */
  upstreamGone: z.boolean().default(false),
  ahead: z.number().int().nonnegative().nullable().default(null),
  behind: z.number().int().nonnegative().nullable().default(null),
  mergedIntoDefault: z.boolean().nullable(),
});
export type RepoBranch = z.infer<typeof RepoBranch>;

/**
 * The whole observed state of one git repository.
 * Produced by: scanner. Consumed by: loop-detector.
 */
export const RepoSnapshot = z.object({
  repoKey: z.string().min(1),
  path: z.string().min(1),
  /** When the scanner looked. */
  observedAt: IsoTime,
  /** Monotonic per repo and scanner; an older sequence never overrides a newer one. */
  seq: z.number().int().nonnegative(),
  kind: z.enum(["repo", "worktree", "submodule"]).default("repo"),
  branch: z.string().nullable(),
  detached: z.boolean(),
  head: z.object({ sha: z.string(), committedAt: IsoTime }).nullable(),
  upstream: z.string().nullable(),
  ahead: z.number().int().nonnegative().nullable(),
  behind: z.number().int().nonnegative().nullable(),
  staged: z.number().int().nonnegative(),
  unstaged: z.number().int().nonnegative(),
  untracked: z.number().int().nonnegative(),
  /** The untracked count hit `scanner.maxUntracked` and stopped there. */
  untrackedCapped: z.boolean().default(false),
  conflicted: z.number().int().nonnegative(),
  /** Oldest mtime among dirty paths; null when clean. */
  dirtySince: IsoTime.nullable(),
  stashes: z.object({ count: z.number().int().nonnegative(), oldestAt: IsoTime.nullable() }),
  branches: z.array(RepoBranch).default([]),
  defaultBranch: z.string().nullable().default(null),
  operation: RepoOperation.nullable(),
  operationSince: IsoTime.nullable().default(null),
  hasRemote: z.boolean(),
  /** Set when the repo could not be read; the other fields are then best effort. */
  error: z.string().nullable().default(null),
  /**
   * Set when another user owns the repository and is not in `scanner.trustedOwners`: git's
   * ownership check keeps it closed, so nothing else was read (loop kind `repo.untrusted`).
   */
  untrusted: z.object({ uid: z.number().int().nonnegative(), user: z.string().nullable() }).nullable().default(null),
});
export type RepoSnapshot = z.infer<typeof RepoSnapshot>;

export const repoSnapshot = defineEvent({
  type: "mirror.repo.snapshot.v1",
  prefix: "mirror.repo.snapshot",
  schema: RepoSnapshot,
});

/** A repository that was seen before and is no longer found. Produced by: scanner. */
export const RepoGone = z.object({
  repoKey: z.string().min(1),
  path: z.string().min(1),
  observedAt: IsoTime,
  seq: z.number().int().nonnegative(),
});
export type RepoGone = z.infer<typeof RepoGone>;

export const repoGone = defineEvent({ type: "mirror.repo.gone.v1", prefix: "mirror.repo.gone", schema: RepoGone });
