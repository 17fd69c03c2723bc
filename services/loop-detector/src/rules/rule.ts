import type { LoopsConfig, RuleName, Severity } from "@mirror/contracts";

/**
 * A condition a rule sees in one observation. It becomes a loop once it has held for
 * `after`: at `since + after`. Rules are pure; the detector decides what to do with it.
 */
export interface Condition {
  kind: RuleName;
  severity: Severity;
  /** One line that names the entity; kept stable so a new snapshot does not rewrite it. */
  summary: string;
  evidence: Record<string, unknown>;
  /** When the condition started to hold (ms), or null if the input does not say: the detector then uses when it first saw it. */
  since: number | null;
  after: number;
}

/** A rule's effective settings: mirror.yaml over the rule's defaults. */
export interface ResolvedRule {
  enabled: boolean;
  after: number;
  severity: Severity;
  /** cert.expiring and domain.expiring: how close to expiry counts. */
  within: number;
}

export type ResolvedRules = Record<RuleName, ResolvedRule>;

const H = 3_600_000;
const D = 24 * H;

/** Defaults per rule: how long before it is a loop, and how bad it is. */
export const RULE_DEFAULTS: ResolvedRules = {
  "repo.dirty": { enabled: true, after: 24 * H, severity: "low", within: 0 },
  "repo.unpushed": { enabled: true, after: 24 * H, severity: "medium", within: 0 },
  "repo.no-upstream": { enabled: true, after: 3 * D, severity: "medium", within: 0 },
  "repo.stash": { enabled: true, after: 7 * D, severity: "low", within: 0 },
  "repo.stale-branch": { enabled: true, after: 30 * D, severity: "info", within: 0 },
  "repo.conflict": { enabled: true, after: H, severity: "high", within: 0 },
  "repo.behind": { enabled: true, after: 24 * H, severity: "low", within: 0 },
  "repo.untrusted": { enabled: true, after: 0, severity: "medium", within: 0 },
  "service.down": { enabled: true, after: 2 * 60_000, severity: "high", within: 0 },
  "service.degraded": { enabled: true, after: 5 * 60_000, severity: "medium", within: 0 },
  "heartbeat.missed": { enabled: true, after: 0, severity: "high", within: 0 },
  "cert.expiring": { enabled: true, after: 0, severity: "medium", within: 14 * D },
  "domain.expiring": { enabled: true, after: 0, severity: "medium", within: 30 * D },
  "site.unreachable": { enabled: true, after: 0, severity: "high", within: 0 },
};

/** Merges `loops.rules` over the defaults (the config schema already refused unknown names). */
export function resolveRules(config: Pick<LoopsConfig, "rules">): ResolvedRules {
  const out = {} as ResolvedRules;
  for (const [name, base] of Object.entries(RULE_DEFAULTS) as [RuleName, ResolvedRule][]) {
    const c = config.rules[name];
    out[name] = {
      enabled: c?.enabled ?? base.enabled,
      after: c?.after ?? base.after,
      severity: c?.severity ?? base.severity,
      within: c?.within ?? base.within,
    };
  }
  return out;
}

/** Builds a condition of `kind` with its configured after and severity, or nothing when the rule is off. */
export function condition(
  rules: ResolvedRules,
  kind: RuleName,
  c: Omit<Condition, "kind" | "after" | "severity">,
): Condition[] {
  const rule = rules[kind];
  if (!rule.enabled) return [];
  return [{ kind, after: rule.after, severity: rule.severity, ...c }];
}

export const time = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};
