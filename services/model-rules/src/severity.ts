import type { Severity } from "@mirror/contracts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Severity steps: the severity once the condition has held for at least `after`. */
type Steps = readonly (readonly [after: number, severity: Severity])[];

/**
 * The severity table by loop kind and by how long the condition has held. Work that is
 * backed up nowhere or a service that is down gets worse with age; a stash or a stale
 * branch is a reminder, rarely urgent.
 */
export const SEVERITY_TABLE: Record<string, Steps> = {
  "repo.dirty": [
    [0, "low"],
    [2 * DAY, "medium"],
    [14 * DAY, "high"],
  ],
  "repo.unpushed": [
    [0, "low"],
    [DAY, "medium"],
    [7 * DAY, "high"],
  ],
  "repo.no-upstream": [
    [0, "medium"],
    [7 * DAY, "high"],
  ],
  "repo.stash": [
    [0, "info"],
    [7 * DAY, "low"],
    [60 * DAY, "medium"],
  ],
  "repo.stale-branch": [
    [0, "info"],
    [90 * DAY, "low"],
  ],
  "repo.conflict": [
    [0, "medium"],
    [DAY, "high"],
  ],
  "repo.behind": [
    [0, "info"],
    [7 * DAY, "low"],
  ],
  "service.down": [
    [0, "high"],
    [HOUR, "critical"],
  ],
  "service.degraded": [
    [0, "medium"],
    [DAY, "high"],
  ],
  "heartbeat.missed": [
    [0, "high"],
    [DAY, "critical"],
  ],
};

/** Certificates are judged by the time left, not the time passed. */
const CERT_STEPS: Steps = [
  [0, "critical"],
  [3 * DAY, "high"],
  [7 * DAY, "medium"],
  [14 * DAY, "low"],
];

/** Severity for a kind after `heldMs`; unknown kinds keep the severity the detector gave. */
export function severityFor(kind: string, heldMs: number, fallback: Severity): Severity {
  const steps = SEVERITY_TABLE[kind];
  if (!steps) return fallback;
  let out = steps[0]?.[1] ?? fallback;
  for (const [after, severity] of steps) if (heldMs >= after) out = severity;
  return out;
}

/** Severity of an expiring certificate by the time left before it expires. */
export function certSeverity(leftMs: number): Severity {
  let out: Severity = "critical";
  for (const [after, severity] of CERT_STEPS) if (leftMs >= after) out = severity;
  return out;
}
