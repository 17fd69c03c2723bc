import { type CheckConfig, stableHash, type TrackerConfig } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import { type Condition, parseConditions } from "./conditions.js";
import type { TrackerMetrics } from "./metrics.js";
import type { HttpProber } from "./probes/http.js";
import type { ProbeResult } from "./probes/result.js";
import { probeTcp } from "./probes/tcp.js";
import type { Scheduler } from "./scheduler.js";
import type { Observed } from "./status.js";
import type { StatusBook } from "./tracker.js";

/** A configured check with its conditions parsed. */
export interface CompiledCheck {
  cfg: CheckConfig;
  kind: "http" | "tcp" | "heartbeat";
  conditions: Condition[];
}

const DEFAULT_HTTP = ["status < 400"];

/**
 * Parses every check's conditions at start-up. Returns every problem, each naming the key
 * path, the check and the expression, so one bad config run shows them all.
 */
export function compileChecks(cfg: TrackerConfig): { checks: CompiledCheck[]; problems: string[] } {
  const checks: CompiledCheck[] = [];
  const problems: string[] = [];
  cfg.checks.forEach((c, i) => {
    const kind = c.http ? "http" : c.tcp ? "tcp" : "heartbeat";
    const texts = kind === "http" && c.conditions.length === 0 ? DEFAULT_HTTP : c.conditions;
    const parsed = parseConditions(c.name, texts);
    problems.push(...parsed.problems.map((p) => `tracker.checks.${i}.conditions: ${p}`));
    if (kind === "heartbeat" && c.conditions.length) problems.push(`tracker.checks.${i}.conditions: check "${c.name}" is a heartbeat; conditions apply to http and tcp checks`);
    for (const cond of parsed.conditions) {
      if (kind !== "heartbeat" && !cond.kinds.includes(kind)) problems.push(`tracker.checks.${i}.conditions: check "${c.name}": condition "${cond.text}" does not apply to a ${kind} check`);
    }
    checks.push({ cfg: c, kind, conditions: parsed.conditions });
  });
  return { checks, problems };
}

/** A check's fixed place in its interval, from its name: checks are spread over it, not fired in a burst. */
export function phaseOf(name: string): number {
  return Number.parseInt(stableHash([name], 8), 16);
}

/** How early a check may start to share a wake-up with others: at most a tenth of its interval. */
export function slackOf(interval: number, coalesce: number): number {
  return Math.min(coalesce, Math.floor(interval / 10));
}

/** What a check probes, as Prometheus's `instance` would name it: host:port. */
export function checkTarget(cfg: CheckConfig): string | undefined {
  if (cfg.tcp) return `${cfg.tcp.host}:${cfg.tcp.port}`;
  if (!cfg.http) return undefined;
  const u = new URL(cfg.http.url);
  return u.port ? u.host : `${u.hostname}:${u.protocol === "https:" ? 443 : 80}`;
}

export function toObserved(r: ProbeResult): Observed {
  const state = !r.reachable ? "down" : r.failed.length ? "degraded" : "up";
  return { state, latencyMs: r.latencyMs, reason: r.error, failedConditions: r.failed, cert: r.cert, details: r.details };
}

/** Puts every http and tcp check on the scheduler; each run probes, reports and says when to run next. */
export function scheduleActiveChecks(
  checks: CompiledCheck[],
  deps: { scheduler: Scheduler; book: StatusBook; prober: HttpProber; metrics: TrackerMetrics; clock: Clock; tracker: TrackerConfig },
): void {
  const { scheduler, book, prober, metrics, clock, tracker } = deps;
  for (const c of checks) {
    if (c.kind === "heartbeat") continue;
    const t = book.track({
      name: c.cfg.name,
      kind: c.kind,
      dependsOn: c.cfg.dependsOn,
      failureThreshold: c.cfg.failureThreshold ?? tracker.failureThreshold,
      successThreshold: c.cfg.successThreshold ?? tracker.successThreshold,
    });
    const interval = c.cfg.interval;
    const phase = phaseOf(c.cfg.name);
    const http = c.cfg.http ? prober.prepare(c.cfg.http, c.conditions) : null;
    const { name } = c.cfg;
    const kind = c.kind;
    const target = checkTarget(c.cfg);
    let due = clock.now() + (phase % Math.max(1, interval));
    scheduler.add(`check:${c.cfg.name}`, due, async () => {
      const r = http ? await prober.probe(http) : await probeTcp(c.cfg.tcp as NonNullable<CheckConfig["tcp"]>, c.conditions, () => clock.now());
      const o = toObserved(r);
      if (target) o.details = { target, ...o.details };
      metrics.recordProbe(name, kind, o.state, r.latencyMs, r.cert?.expiresAt ?? null);
      book.report(t, o);
      // Fixed rate from the planned time; after an overrun, start again from now.
      due += interval;
      const now = clock.now();
      if (due < now) due = now + ((phase + now) % Math.min(interval, 1_000));
      return due;
    }, { slack: slackOf(interval, tracker.coalesce) });
  }
}
