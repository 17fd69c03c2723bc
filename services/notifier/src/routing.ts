import { type NotifierConfig, type QuietHours, type Route, SEVERITY_RANK, type Severity } from "@mirror/contracts";
import type { GroupPolicy } from "./group.js";
import { globToRegExp, type LabelMatcher, matchesAll, parseMatcher } from "./matchers.js";

/** One place an alert goes: a channel through a route, grouped and timed by that route. */
export interface Target {
  route: string;
  channel: string;
  groupBy: string[];
  policy: GroupPolicy;
  quietHours: QuietHours | undefined;
  /** Escalation copies count only from `openedAt + escalateAfter`. */
  escalation: boolean;
  escalateAfter: number;
}

interface CompiledRoute {
  id: string;
  route: Route;
  kind: RegExp | undefined;
  severity: (s: string) => boolean;
  match: LabelMatcher[];
}

/** Routes compiled once; `targets(labels)` applies them (first match wins unless `continue`). */
export class Router {
  private readonly routes: CompiledRoute[];
  constructor(private readonly cfg: NotifierConfig) {
    this.routes = cfg.routes.map((route, i) => ({
      id: `r${i}`,
      route,
      kind: route.kind ? globToRegExp(route.kind) : undefined,
      severity: severityTest(route.severity),
      match: route.match.map(parseMatcher),
    }));
  }

  targets(labels: Record<string, string>): Target[] {
    const out: Target[] = [];
    for (const r of this.routes) {
      if (r.kind && !r.kind.test(labels.alertname ?? "")) continue;
      if (!r.severity(labels.severity ?? "")) continue;
      if (!matchesAll(r.match, labels)) continue;
      out.push(...this.expand(r.id, r.route));
      if (!r.route.continue) return out;
    }
    if (out.length === 0) out.push(...this.expand("default", undefined));
    return out;
  }

  /** The target a stored group was made for, as the config says now (undefined if it is gone). */
  target(route: string, channel: string, escalation: boolean): Target | undefined {
    const r = route === "default" ? undefined : this.routes.find((x) => x.id === route);
    if (route !== "default" && !r) return undefined;
    if (!this.cfg.channels.some((c) => c.name === channel)) return undefined;
    return this.expand(route, r?.route).find((t) => t.channel === channel && t.escalation === escalation);
  }

  private expand(id: string, route: Route | undefined): Target[] {
    const cfg = this.cfg;
    const channels = route?.channels ?? cfg.channels.map((c) => c.name);
    const base = {
      route: id,
      groupBy: route?.groupBy ?? cfg.groupBy,
      quietHours: route?.quietHours ?? cfg.quietHours,
      escalateAfter: route?.escalateAfter ?? 0,
    };
    const policy = (channel: string): GroupPolicy => ({
      groupWait: route?.groupWait ?? cfg.groupWait,
      groupInterval: route?.groupInterval ?? cfg.groupInterval,
      repeatInterval: route?.repeatInterval ?? cfg.repeatInterval,
      repeatLimit: route?.repeatLimit ?? cfg.repeatLimit,
      stormThreshold: cfg.stormThreshold,
      sendResolved: cfg.channels.find((c) => c.name === channel)?.sendResolved ?? true,
    });
    const out: Target[] = channels.map((channel) => ({ ...base, channel, policy: policy(channel), escalation: false }));
    if (route?.escalateAfter !== undefined) {
      for (const channel of route.escalateTo) out.push({ ...base, channel, policy: policy(channel), escalation: true });
    }
    return out;
  }
}

/** `critical`, `[high, critical]`, `">= high"` -> a test on a severity name. */
export function severityTest(spec: Route["severity"]): (s: string) => boolean {
  if (spec === undefined) return () => true;
  if (Array.isArray(spec)) return (s) => spec.includes(s as Severity);
  const m = /^\s*(>=|>|<=|<)\s*(\w+)\s*$/.exec(spec);
  if (!m) return (s) => s === spec;
  const ref = SEVERITY_RANK[m[2] as Severity];
  const op = m[1];
  return (s) => {
    const r = SEVERITY_RANK[s as Severity];
    if (r === undefined) return false;
    return op === ">=" ? r >= ref : op === ">" ? r > ref : op === "<=" ? r <= ref : r < ref;
  };
}

/** The group labels of an alert: `groupBy` picks labels; `...` means all of them. */
export function groupLabels(groupBy: readonly string[], labels: Record<string, string>): Record<string, string> {
  if (groupBy.includes("...")) return { ...labels };
  const out: Record<string, string> = {};
  for (const k of groupBy) if (labels[k] !== undefined) out[k] = labels[k];
  return out;
}
