import { createHash } from "node:crypto";

/** Stable hex hash of the given parts (joined with NUL, so parts cannot collide by concatenation). */
export function stableHash(parts: readonly string[], length = 16): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, length);
}

/** The subject-safe key of a repository: a hash of its absolute path. */
export function repoKey(absolutePath: string): string {
  return stableHash(["repo", absolutePath]);
}

/** The entity key of a loop: what it is about ("repo:/abs/path", "service:web"). */
export function entityKey(entity: { type: string; repo?: string; service?: string; site?: string }): string {
  return `${entity.type}:${entity.repo ?? entity.service ?? entity.site ?? ""}`;
}

/** A loop id is a stable hash of (kind, entity), so opening the same loop twice is a no-op. */
export function loopId(kind: string, entity: string): string {
  return stableHash(["loop", kind, entity]);
}

/** Makes any string usable as one NATS subject token. */
export function subjectToken(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_-]/g, "_");
  return cleaned.length > 0 && cleaned.length <= 64 ? cleaned : stableHash([text]);
}
