import type { NotifierConfig } from "@mirror/contracts";
import { type LabelMatcher, matchesAll, parseMatcher } from "./matchers.js";

/** A silence as stored: matchers and an end time. */
export interface SilenceRecord {
  id: string;
  matchers: string[];
  until: string;
  comment?: string;
  createdBy: string;
  createdAt: string;
}

interface Compiled {
  matchers: LabelMatcher[];
  until: number;
}

/** Tests labels against the silences in force at `now`. */
export function silenceTest(
  silences: readonly { matchers: readonly string[]; until: string }[],
  now: number,
): (labels: Record<string, string>) => boolean {
  const active: Compiled[] = silences
    .map((s) => ({ matchers: s.matchers.map(parseMatcher), until: Date.parse(s.until) }))
    .filter((s) => s.until > now);
  return (labels) => active.some((s) => matchesAll(s.matchers, labels));
}

/** Inhibition (Alertmanager semantics): a target is muted while a firing source with equal `equal` labels exists. */
export function inhibitTest(
  rules: NotifierConfig["inhibit"],
  firing: readonly Record<string, string>[],
): (labels: Record<string, string>) => boolean {
  const compiled = rules.map((r) => ({
    source: r.source.map(parseMatcher),
    target: r.target.map(parseMatcher),
    equal: r.equal,
  }));
  return (labels) =>
    compiled.some((r) => {
      if (!matchesAll(r.target, labels)) return false;
      return firing.some(
        (src) =>
          src !== labels &&
          src.loop_id !== labels.loop_id &&
          matchesAll(r.source, src) &&
          r.equal.every((k) => (src[k] ?? "") === (labels[k] ?? "")),
      );
    });
}
