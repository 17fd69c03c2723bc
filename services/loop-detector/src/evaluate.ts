import type { RepoSnapshot, ServiceStatus } from "@mirror/contracts";
import { certRules } from "./rules/cert.js";
import { domainRules } from "./rules/domain.js";
import { heartbeatRules } from "./rules/heartbeat.js";
import { repoRules } from "./rules/repo.js";
import type { Condition, ResolvedRules } from "./rules/rule.js";
import { serviceRules } from "./rules/service.js";
import type { EntityState, Observation } from "./state.js";

/** The conditions that hold for an entity's latest observation, or null when it cannot say (loops stay as they are). */
export function evaluate(obs: Observation | null, now: number, rules: ResolvedRules): Condition[] | null {
  if (!obs) return null;
  switch (obs.source) {
    case "gone":
      return [];
    case "repo": {
      const s = obs.data as RepoSnapshot;
      // An untrusted repo's error says why it was not opened: that is its one condition.
      return s.error && !s.untrusted ? null : repoRules(s, now, rules);
    }
    case "service": {
      const s = obs.data as ServiceStatus;
      const base = serviceRules(s, now, rules);
      return base === null
        ? null
        : [...base, ...heartbeatRules(s, now, rules), ...certRules(s, now, rules), ...domainRules(s, now, rules)];
    }
  }
}

/** True when `obs` is newer than what is stored: later observedAt, or same time and higher seq. */
export function isNewer(state: EntityState, obs: Pick<Observation, "at" | "seq">): boolean {
  const cur = state.obs;
  if (!cur) return true;
  return obs.at > cur.at || (obs.at === cur.at && obs.seq > cur.seq);
}
