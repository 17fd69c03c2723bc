import type { LoopStatus } from "@mirror/contracts";

/**
 * The status of a loop whose condition holds and that nobody acknowledged or snoozed: `maintenance` while a
 * maintenance window covers it (a `maintenance:<name>` in `suppressedBy`), `suppressed` while a parent service is
 * down, else `open`. Neither of the first two is notified; both stay visible.
 */
export function liveStatus(suppressedBy: readonly string[]): LoopStatus {
  if (suppressedBy.some((b) => b.startsWith("maintenance:"))) return "maintenance";
  return suppressedBy.length > 0 ? "suppressed" : "open";
}

/** Statuses a rule moves a loop between by itself as parents and windows come and go. */
export const isLive = (status: LoopStatus): boolean =>
  status === "open" || status === "suppressed" || status === "maintenance";
