import { promises as fs } from "node:fs";
import { dirname } from "node:path";
import { MirrorError } from "@mirror/contracts";
import { type FoundRepo, isWithin as within, repoAt } from "./discover.js";

/** A `scan.now` path that is not a repo inside the configured roots. */
export class TargetError extends MirrorError {
  override name = "TargetError";
  constructor(code: "MIRROR_ERR_OUTSIDE_ROOTS" | "MIRROR_ERR_NOT_FOUND" | "MIRROR_ERR_NOT_A_REPO", message: string) {
    super(code, message);
  }
}

/**
 * Resolves a requested path to the repo containing it. Containment is checked on real paths,
 * so neither a symlink nor ".." can reach a repo outside the roots.
 */
export async function resolveTarget(requested: string, roots: readonly string[]): Promise<FoundRepo> {
  const real = await fs.realpath(requested).catch(() => undefined);
  if (!real) throw new TargetError("MIRROR_ERR_NOT_FOUND", `no such path: ${requested}`);
  const realRoots = (await Promise.all(roots.map((r) => fs.realpath(r).catch(() => undefined)))).filter(
    (r): r is string => !!r,
  );
  const root = realRoots.filter((r) => within(real, r)).sort((a, b) => b.length - a.length)[0];
  if (!root) throw new TargetError("MIRROR_ERR_OUTSIDE_ROOTS", `${requested} is outside the scanner roots`);
  for (let dir = real; within(dir, root); dir = dirname(dir)) {
    const repo = await repoAt(dir, root).catch(() => undefined);
    if (repo) return repo;
    if (dir === root) break;
  }
  throw new TargetError("MIRROR_ERR_NOT_A_REPO", `${requested} is not inside a git repository`);
}
