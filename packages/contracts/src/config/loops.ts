import { z } from "zod";
import { duration } from "../duration.js";
import { Severity } from "../events/common.js";
import { Port } from "./port.js";

/**
 * Every rule the loop-detector knows; a rule name is part of the contract between the
 * producers (scanner, service-tracker), mirror.yaml and the notifier's `alertname`.
 */
export const RULE_NAMES = [
  "repo.dirty",
  "repo.unpushed",
  "repo.no-upstream",
  "repo.stash",
  "repo.stale-branch",
  "repo.conflict",
  "repo.behind",
  "repo.untrusted",
  "service.down",
  "service.degraded",
  "heartbeat.missed",
  "cert.expiring",
  "domain.expiring",
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** `loops.rules.<name>`: how long the condition must hold, how bad it is, whether it runs. */
export const RuleConfig = z.strictObject({
  after: duration("0s").optional(),
  severity: Severity.optional(),
  enabled: z.boolean().default(true),
  /** cert.expiring and domain.expiring: how close to expiry counts (default 14d for certificates, 30d for domains). */
  within: duration("14d").optional(),
});
export type RuleConfig = z.infer<typeof RuleConfig>;

const Rules = z.record(z.string(), RuleConfig).superRefine((rules, ctx) => {
  for (const name of Object.keys(rules)) {
    if (!(RULE_NAMES as readonly string[]).includes(name)) {
      ctx.addIssue({ code: "custom", path: [name], message: `unknown rule "${name}"; known rules: ${RULE_NAMES.join(", ")}` });
    }
  }
});

export const LoopsConfig = z
  .strictObject({
    port: Port.default(9103),
    rules: Rules.default({}),
    /** How often time-based rules, snoozes, triage retries and the outbox are looked at. */
    tick: duration("1s"),
    /** Ask the model service to triage each new loop. */
    triage: z.boolean().default(true),
    triageTimeout: duration("10s"),
    /** Retry a failed triage after this long (doubling, up to 16x). */
    triageRetry: duration("30s"),
    /**
     * Service dependencies: `{ web: [nas] }` means web depends on nas. While a parent has an
     * open `service.down`, its children's loops open as `suppressed` (visible, not notified).
     */
    dependsOn: z.record(z.string(), z.array(z.string().min(1))).default({}),
    /** Transitions kept in each loop's history (oldest dropped first). */
    historyLimit: z.number().int().min(1).max(1_000).default(50),
  })
  .prefault({});
export type LoopsConfig = z.infer<typeof LoopsConfig>;
