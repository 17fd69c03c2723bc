import type { ServiceStatus } from "@mirror/contracts";
import { type Condition, condition, type ResolvedRules, time } from "./rule.js";

/** heartbeat.missed: a job did not check in before its grace ended, or reported a failure. */
export function heartbeatRules(s: ServiceStatus, _now: number, rules: ResolvedRules): Condition[] {
  const hb = s.heartbeat;
  if (!hb || !(hb.missed || hb.failed)) return [];
  return condition(rules, "heartbeat.missed", {
    summary: hb.failed ? `${s.name} reported a failure` : `${s.name} did not check in`,
    evidence: {
      name: s.name,
      kind: s.kind,
      heartbeat: hb,
      lastPingAt: hb.lastPingAt,
      expectedBy: hb.expectedBy,
      reason: s.reason,
    },
    since: time(hb.expectedBy) ?? time(s.since),
  });
}
