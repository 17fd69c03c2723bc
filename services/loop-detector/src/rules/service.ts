import type { ServiceStatus } from "@mirror/contracts";
import { type Condition, condition, type ResolvedRules, time } from "./rule.js";

/** service.down and service.degraded over one status; null when the state is unknown (loops stay as they are). */
export function serviceRules(s: ServiceStatus, _now: number, rules: ResolvedRules): Condition[] | null {
  if (s.state === "unknown") return null;
  // A heartbeat that is late is heartbeat.missed, not also service.down.
  if (s.kind === "heartbeat") return [];
  const target = typeof s.details.target === "string" ? s.details.target : undefined;
  const sites = Array.isArray(s.details.badSites) ? (s.details.badSites as string[]) : undefined;
  const evidence = {
    name: s.name,
    kind: s.kind,
    state: s.state,
    reason: s.reason,
    latencyMs: s.latencyMs,
    failedConditions: s.failedConditions,
    ...(target ? { target } : {}),
    ...(sites ? { sites, quorum: s.details.quorum } : {}),
  };
  // A check probed from several sites: the loop names the sites that see it so (sites.ts).
  const from = sites ? ` from ${sites.join(", ")}` : "";
  if (s.state === "down")
    return condition(rules, "service.down", { summary: `${s.name} is down${from}`, evidence, since: time(s.since) });
  if (s.state === "degraded")
    return condition(rules, "service.degraded", {
      summary: `${s.name} is degraded${from}`,
      evidence,
      since: time(s.since),
    });
  return [];
}
