import { Loop, loopId } from "@mirror/contracts";

/** A loop as the loop-detector publishes it, opened `openedAgoMs` before `now`. */
export function makeLoop(
  kind: string,
  entity: { repo?: string; service?: string },
  opts: { now: number; openedAgoMs?: number; evidence?: Record<string, unknown> },
): Loop {
  const at = new Date(opts.now - (opts.openedAgoMs ?? 0)).toISOString();
  const type = entity.repo ? "repo" : "service";
  return Loop.parse({
    id: loopId(kind, `${type}:${entity.repo ?? entity.service}`),
    kind,
    entity: { type, ...entity },
    severity: "low",
    status: "open",
    summary: `${kind} on ${entity.repo ?? entity.service}`,
    openedAt: at,
    updatedAt: at,
    rev: 1,
    evidence: opts.evidence ?? {},
  });
}
