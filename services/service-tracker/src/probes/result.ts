import type { FailedCondition } from "../conditions.js";

/** What one probe saw. Unreachable is down; reachable with failed conditions is degraded. */
export interface ProbeResult {
  reachable: boolean;
  latencyMs: number | null;
  /** Why it was unreachable. */
  error: string | null;
  failed: FailedCondition[];
  cert: { expiresAt: string; issuer: string | null } | null;
  details: Record<string, unknown>;
}
