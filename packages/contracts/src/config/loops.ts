import { z } from "zod";
import { Duration, duration } from "../duration.js";
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
  "site.unreachable",
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
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `unknown rule "${name}"; known rules: ${RULE_NAMES.join(", ")}`,
      });
    }
  }
});

/**
 * A maintenance window: while it is on, loops of what it matches open (or stay) `maintenance`
 * with `maintenance:<name>` in `suppressedBy` (visible, not notified); one still open when the
 * window ends is notified then. One-off (`start`, `end`) or recurring (`cron` in `tz`, `duration`).
 */
export const MaintenanceWindow = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, "a window name is 1-64 letters, digits, '.', '-' or '_'")
      .describe("The window's name, shown in `suppressedBy` as maintenance:<name>."),
    match: z
      .strictObject({
        check: z.array(z.string().min(1)).optional().describe("Check (service) names the window covers."),
        repo: z.array(z.string().min(1)).optional().describe("Repository paths the window covers."),
        kind: z.array(z.string().min(1)).optional().describe("Loop kinds the window covers, e.g. service.down."),
      })
      .refine((m) => m.check || m.repo || m.kind, "match needs at least one of check, repo or kind"),
    start: z.iso.datetime({ offset: true }).optional().describe("One-off window: when it starts (ISO 8601)."),
    end: z.iso.datetime({ offset: true }).optional().describe("One-off window: when it ends (ISO 8601)."),
    cron: z
      .string()
      .optional()
      .describe("Recurring window: when it starts, a 5-field cron expression, e.g. `0 2 * * 0`."),
    duration: Duration.optional().describe("Recurring window: how long it lasts."),
    tz: z.string().optional().describe("Recurring window: the time zone of `cron` (default UTC)."),
  })
  .superRefine((w, ctx) => {
    const oneOff = w.start !== undefined || w.end !== undefined;
    const recurring = w.cron !== undefined || w.duration !== undefined;
    if (oneOff === recurring)
      ctx.addIssue({
        code: "custom",
        message: "a maintenance window needs either `start` and `end`, or `cron` and `duration`",
      });
    if (oneOff && (w.start === undefined || w.end === undefined))
      ctx.addIssue({ code: "custom", message: "a one-off window needs both `start` and `end`" });
    if (oneOff && w.start && w.end && Date.parse(w.end) <= Date.parse(w.start))
      ctx.addIssue({ code: "custom", path: ["end"], message: "`end` must be after `start`" });
    if (recurring && (w.cron === undefined || !w.duration))
      ctx.addIssue({ code: "custom", message: "a recurring window needs both `cron` and a `duration` > 0" });
    if (w.tz !== undefined && w.cron === undefined)
      ctx.addIssue({ code: "custom", path: ["tz"], message: "`tz` only applies to `cron`" });
    const bad = w.cron === undefined ? null : cronProblem(w.cron);
    if (bad) ctx.addIssue({ code: "custom", path: ["cron"], message: bad });
    if (w.tz !== undefined) {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: w.tz });
      } catch {
        ctx.addIssue({ code: "custom", path: ["tz"], message: `unknown time zone "${w.tz}"` });
      }
    }
  });

const CRON_RANGES = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
] as const;

/** What is wrong with a 5-field cron expression (minute hour day month weekday), or null. */
function cronProblem(expr: string): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `"${expr}" is not a 5-field cron expression (minute hour day month weekday)`;
  for (const [i, f] of fields.entries()) {
    const [lo, hi] = CRON_RANGES[i] as readonly [number, number];
    for (const part of f.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      const from = m?.[2] === undefined ? lo : Number(m[2]);
      const to = m?.[3] === undefined ? (m?.[2] === undefined || m[4] !== undefined ? hi : from) : Number(m[3]);
      if (!m || from < lo || to > hi || from > to || (m[4] !== undefined && Number(m[4]) < 1))
        return `"${part}" in "${expr}" is not a cron field in ${lo}-${hi} (use *, N, N-M, */S, lists)`;
    }
  }
  return null;
}
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

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
    /** Maintenance windows: matching loops are in status maintenance (not notified) while one is on. */
    maintenance: z.array(MaintenanceWindow).default([]),
    /** Transitions kept in each loop's history (oldest dropped first). */
    historyLimit: z.number().int().min(1).max(1_000).default(50),
  })
  .prefault({});
export type LoopsConfig = z.infer<typeof LoopsConfig>;
