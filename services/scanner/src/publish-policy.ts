import { stableHash } from "@mirror/contracts";
import type { SnapshotBody } from "./snapshot.js";

/** What the scanner remembers of a repo between scans. */
export interface KnownRepo {
  key: string;
  path: string;
  /** Hash of the last published body; undefined until one was published by this process. */
  hash?: string;
  seq: number;
  publishedAt: number;
}

/**
 * The next sequence number: wall-clock milliseconds, bumped past the previous one. Time-based,
 * so it keeps rising across restarts without stored state (one publish per ms per repo at most).
 */
export function nextSeq(prev: number, now: number): number {
  return Math.max(prev + 1, Math.floor(now));
}

export function bodyHash(body: SnapshotBody): string {
  return stableHash([JSON.stringify(body)], 24);
}

/** Publish when the content changed, or as a keep-alive once `resyncMs` passed (level-triggered). */
export function shouldPublish(
  known: KnownRepo | undefined,
  hash: string,
  now: number,
  resyncMs: number,
  force = false,
): boolean {
  if (force || !known || known.hash !== hash) return true;
  return now - known.publishedAt >= resyncMs;
}

/** The stable message id of a snapshot: JetStream drops a retried publish with the same id. */
export function snapshotId(key: string, seq: number): string {
  return `repo-snapshot-${key}-${seq}`;
}

export function goneId(key: string, seq: number): string {
  return `repo-gone-${key}-${seq}`;
}
