import { SEVERITY_RANK, type ServiceStatus } from "@mirror/contracts";
import { type Condition, condition, type ResolvedRules, time } from "./rule.js";

/**
 * domain.expiring: the registration ends within `within` (default 30d), as a domain check's
 * RDAP answer says. Like cert.expiring, the condition is reported before the window with
 * `since` in the future, so the tick opens the loop on time; an expired domain is at least `high`.
 */
export function domainRules(s: ServiceStatus, now: number, rules: ResolvedRules): Condition[] {
  const expires = time(s.domain?.expiresAt);
  if (expires === null || !s.domain) return [];
  const out = condition(rules, "domain.expiring", {
    summary: `Domain ${s.domain.name} (${s.name}) expires ${new Date(expires).toISOString().slice(0, 10)}`,
    evidence: {
      name: s.name,
      domain: s.domain.name,
      expiresAt: s.domain.expiresAt,
      registrar: s.domain.registrar ?? null,
    },
    since: expires - rules["domain.expiring"].within,
  });
  for (const c of out) if (expires <= now && SEVERITY_RANK[c.severity] < SEVERITY_RANK.high) c.severity = "high";
  return out;
}
