import { type CheckConfig, type CheckKind, checkKind, stableHash, type TrackerConfig } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import { type Condition, parseConditions } from "./conditions.js";
import type { TrackerMetrics } from "./metrics.js";
import { urlTarget } from "./probes/redis.js";
import type { ProbeResult } from "./probes/result.js";
import { type Prober, type ProbeRunner, prepareProbe } from "./probes/run.js";
import type { Scheduler } from "./scheduler.js";
import type { Observed } from "./status.js";
import type { StatusBook } from "./tracker.js";
import { scheduleDiscovery } from "./probes/docker-discover.js";
import { DOMAIN_MIN_INTERVAL, DOMAIN_RETRY } from "./probes/domain.js";

/** A configured check with its conditions parsed. */
export interface CompiledCheck {
  cfg: CheckConfig;
  kind: CheckKind;
  conditions: Condition[];
}

/** Conditions a check of a kind gets when it names none. */
const DEFAULTS: Partial<Record<CheckKind, string[]>> = {
  http: ["status < 400"],
  dns: ["rcode == NOERROR", "answers.count > 0"],
  docker: ["health != unhealthy"],
};

/**
 * Parses every check's conditions at start-up. Returns every problem, each naming the key
 * path, the check and the expression, so one bad config run shows them all.
 */
export function compileChecks(cfg: TrackerConfig): { checks: CompiledCheck[]; problems: string[] } {
  const checks: CompiledCheck[] = [];
  const problems: string[] = [];
  cfg.checks.forEach((c, i) => {
    const kind = checkKind(c);
    const texts = c.conditions.length === 0 ? (DEFAULTS[kind] ?? []) : c.conditions;
    const parsed = parseConditions(c.name, texts);
    problems.push(...parsed.problems.map((p) => `tracker.checks.${i}.conditions: ${p}`));
    if (kind === "heartbeat" && c.conditions.length)
      problems.push(
        `tracker.checks.${i}.conditions: check "${c.name}" is a heartbeat; conditions apply to probed checks`,
      );
    for (const cond of parsed.conditions) {
      if (kind !== "heartbeat" && !cond.kinds.includes(kind))
        problems.push(
          `tracker.checks.${i}.conditions: check "${c.name}": condition "${cond.text}" does not apply to a ${kind} check`,
        );
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

/** What a check probes, as Prometheus's `instance` would name it (host:port); never a credential. */
export function checkTarget(cfg: CheckConfig): string | undefined {
  if (cfg.tcp) return `${cfg.tcp.host}:${cfg.tcp.port}`;
  if (cfg.tls) return `${cfg.tls.host}:${cfg.tls.port}`;
  if (cfg.dns) return cfg.dns.server ?? cfg.dns.name;
  if (cfg.redis) return urlTarget(cfg.redis.url, 6379);
  if (cfg.postgres) return urlTarget(cfg.postgres.url, 5432);
  if (cfg.docker) return cfg.docker.container ?? cfg.docker.socket;
  if (cfg.icmp) return cfg.icmp.host;
  if (cfg.domain) return cfg.domain.name;
  if (!cfg.http) return undefined;
  const u = new URL(cfg.http.url);
  return u.port ? u.host : `${u.hostname}:${u.protocol === "https:" ? 443 : 80}`;
}

export function toObserved(r: ProbeResult): Observed {
  const state = r.unknown ? "unknown" : !r.reachable ? "down" : r.failed.length ? "degraded" : "up";
  return {
    state,
    latencyMs: r.latencyMs,
    reason: r.error,
    failedConditions: r.failed,
    cert: r.cert,
    domain: r.domain ?? null,
    details: r.details,
  };
}

export interface ActiveDeps {
  scheduler: Scheduler;
  book: StatusBook;
  prober: Prober;
  metrics: TrackerMetrics;
  clock: Clock;
  tracker: TrackerConfig;
  /** This replica's share of the checks (replicas.ts); without it every check is this replica's. */
  share?: CheckShare;
}

/** Which checks this replica runs; `onTakeOver` hears of the checks it took from a replica that died. */
export interface CheckShare {
  owns(name: string): boolean;
  /**
   * `taken(name)`: this replica took the check over; a slot after `missedSince` (clock ms) may have
   * gone unrun. The listener answers how many checks it ran again soon and how many kept their grid.
   */
  onTakeOver(
    listener: (taken: (name: string) => boolean, missedSince: number) => { caughtUp: number; onGrid: number },
  ): void;
}

/**
 * The first run of a check at or after `now` on its fixed grid (`phase` modulo `interval`, in
 * clock time): replicas agree on a check's slots, so a check that moves to another replica
 * runs there at the slot it would have run at, with no burst and no gap.
 */
export function nextSlot(now: number, phase: number, interval: number): number {
  return now + ((((phase - now) % interval) + interval) % interval);
}

/** The probed checks on the scheduler, changed in place when the config reloads. */
export interface ActiveChecks {
  /**
   * Makes the scheduled checks those of `checks`: new ones start, changed ones are replaced
   * (their state is kept), removed ones stop and are forgotten; unchanged ones keep their
   * schedule untouched. Returns the names in each group.
   */
  apply(checks: CompiledCheck[]): { added: string[]; changed: string[]; removed: string[] };
}

/** Puts every probed check on the scheduler; each run probes, reports and says when to run next. */
export function scheduleActiveChecks(checks: CompiledCheck[], deps: ActiveDeps): ActiveChecks {
  const current = new Map<
    string,
    { fingerprint: string; stop: () => void; catchUp?: (missedSince: number) => boolean }
  >();
  const start = (c: CompiledCheck) => {
    const scheduled = c.cfg.docker?.discover
      ? { stop: scheduleDiscovery(c, deps) }
      : scheduleCheck(c, prepareProbe(c, deps.prober), deps);
    current.set(c.cfg.name, { fingerprint: JSON.stringify(c.cfg), ...scheduled });
  };
  deps.share?.onTakeOver((taken, missedSince) => {
    const n = { caughtUp: 0, onGrid: 0 };
    for (const [name, c] of current) if (taken(name)) n[c.catchUp?.(missedSince) ? "caughtUp" : "onGrid"]++;
    return n;
  });
  const apply: ActiveChecks["apply"] = (next) => {
    const out = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
    const wanted = new Map(next.filter((c) => c.kind !== "heartbeat").map((c) => [c.cfg.name, c]));
    for (const [name, running] of current) {
      if (wanted.has(name)) continue;
      running.stop();
      current.delete(name);
      deps.book.forget(name);
      out.removed.push(name);
    }
    for (const [name, c] of wanted) {
      const running = current.get(name);
      if (running?.fingerprint === JSON.stringify(c.cfg)) continue;
      if (running) {
        running.stop();
        out.changed.push(name);
      } else out.added.push(name);
      start(c);
    }
    return out;
  };
  apply(checks);
  return { apply };
}

function scheduleCheck(
  c: CompiledCheck,
  run: ProbeRunner,
  deps: ActiveDeps,
): { stop: () => void; catchUp: (missedSince: number) => boolean } {
  const { scheduler, book, metrics, clock, tracker, share } = deps;
  const kind = c.kind as Exclude<CheckKind, "heartbeat">;
  const t = book.track({
    name: c.cfg.name,
    kind,
    dependsOn: c.cfg.dependsOn,
    failureThreshold: c.cfg.failureThreshold ?? tracker.failureThreshold,
    successThreshold: c.cfg.successThreshold ?? tracker.successThreshold,
  });
  // A changed check keeps its state; its settings are the new ones.
  Object.assign(t, {
    kind,
    dependsOn: c.cfg.dependsOn,
    failureThreshold: c.cfg.failureThreshold ?? tracker.failureThreshold,
    successThreshold: c.cfg.successThreshold ?? tracker.successThreshold,
  });
  let live = true;
  let caughtUp = false;
  const { name } = c.cfg;
  const domain = kind === "domain";
  const interval = domain ? Math.max(c.cfg.interval, DOMAIN_MIN_INTERVAL) : c.cfg.interval;
  const phase = phaseOf(name);
  const target = checkTarget(c.cfg);
  // A domain check's first look comes soon after start, then at most every 12h.
  let due = domain
    ? clock.now() + (phase % Math.max(1, Math.min(c.cfg.interval, 5_000)))
    : nextSlot(clock.now(), phase, interval);
  scheduler.add(
    `check:${name}`,
    due,
    async () => {
      // Another replica's check: keep its slots, probe nothing.
      if (share && !share.owns(name)) {
        const now = clock.now();
        due += interval;
        if (due <= now) due = domain ? now + interval : nextSlot(now + 1, phase, interval);
        return due;
      }
      const r = await run();
      // Removed or replaced while it ran: its result belongs to a check that no longer exists.
      if (!live) return null;
      const o = toObserved(r);
      if (target) o.details = { target, ...o.details };
      metrics.recordProbe(name, kind, o.state, r.latencyMs, r.cert?.expiresAt ?? null);
      book.report(t, o);
      const now = clock.now();
      if (domain)
        return (
          now +
          (o.state === "up" || o.state === "degraded"
            ? interval
            : Math.min(interval, Math.max(c.cfg.interval, DOMAIN_RETRY)))
        );
      // A catch-up run is one more: the slot ahead still runs (skipping it would leave a gap of two intervals).
      if (caughtUp) {
        caughtUp = false;
        if (due > now) return due;
      }
      // Fixed rate from the planned time; after an overrun, start again from now.
      due += interval;
      if (due < now) due = now + ((phase + now) % Math.min(interval, 1_000));
      return due;
    },
    { slack: slackOf(interval, tracker.coalesce) },
  );
  return {
    stop: () => {
      live = false;
      scheduler.remove(`check:${name}`);
    },
    // Taken from a replica that died: a slot since it may have died went unrun, so run it soon
    // (spread by phase over a tenth of its interval, at most a second), then on the grid again.
    catchUp: (missedSince) => {
      if (!live || due - interval < missedSince) return false;
      caughtUp = true;
      scheduler.reschedule(
        `check:${name}`,
        clock.now() + (phase % Math.max(1, Math.min(1_000, Math.floor(interval / 10)))),
      );
      return true;
    },
  };
}
