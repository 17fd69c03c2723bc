import { SEVERITY_RANK, type ServiceStatus } from "@mirror/contracts";
import { type Condition, condition, type ResolvedRules, time } from "./rule.js";

/**
 * cert.expiring: the certificate ends within `within` (default 14d). The condition is
 * reported before the window too, with `since` in the future, so the tick opens the loop
 * on time without a new status. An expired certificate is at least `high`.
 */
export function certRules(s: ServiceStatus, now: number, rules: ResolvedRules): Condition[] {
  const expires = time(s.cert?.expiresAt);
  if (expires === null || !s.cert) return [];
  const out = condition(rules, "cert.expiring", {
    summary: `TLS certificate of ${s.name} expires ${new Date(expires).toISOString().slice(0, 10)}`,
    evidence: { name: s.name, cert: s.cert, expiresAt: s.cert.expiresAt },
    since: expires - rules["cert.expiring"].within,
  });
  for (const c of out) if (expires <= now && SEVERITY_RANK[c.severity] < SEVERITY_RANK.high) c.severity = "high";
  return out;
}
