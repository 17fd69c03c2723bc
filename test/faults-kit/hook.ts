// What a webhook receiver saw, counted the way its owner would: one notification is one
// delivery (its `webhook-id`, the idempotency key a receiver de-duplicates on); the same
// delivery sent again after a crash is a re-send, not a second notification.
import type { ReceivedRequest } from "@mirror/testkit";

export type Alert = { status: string; labels: Record<string, string>; fingerprint: string };
type Hook = { status: string; alerts?: Alert[] };

export const alertsOf = (r: ReceivedRequest): Alert[] => ((r.json as Hook | undefined)?.alerts ?? []) as Alert[];

export interface Tally {
  /** entity (label value) -> distinct delivery ids that carried it as firing. */
  firing: Map<string, Set<string>>;
  /** Requests that repeated a delivery id already received (at-least-once at the HTTP edge). */
  resent: number;
}

/** Firing notifications per entity for one alertname, keyed by `label` (repo or service). */
export function tally(requests: readonly ReceivedRequest[], alertname: string, label = "repo"): Tally {
  const firing = new Map<string, Set<string>>();
  const seen = new Set<string>();
  let resent = 0;
  for (const r of requests) {
    const id = String(r.headers["webhook-id"] ?? "");
    if (seen.has(id)) resent++;
    seen.add(id);
    for (const a of alertsOf(r)) {
      if (a.status !== "firing" || a.labels.alertname !== alertname) continue;
      const key = a.labels[label] ?? "";
      if (!firing.has(key)) firing.set(key, new Set());
      firing.get(key)?.add(id);
    }
  }
  return { firing, resent };
}

/** Expected entities with no firing notification, and those with more than one. */
export function lostAndDuplicated(t: Tally, expected: readonly string[]): { lost: string[]; duplicated: string[] } {
  return {
    lost: expected.filter((e) => !t.firing.has(e)),
    duplicated: [...t.firing].filter(([, ids]) => ids.size > 1).map(([e]) => e),
  };
}

/**
 * What each alert said over time, one entry per delivery ("firing" | "resolved"), keyed by
 * `alertname entity`: a re-sent delivery id is counted once.
 */
export function timelines(requests: readonly ReceivedRequest[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const r of requests) {
    const id = String(r.headers["webhook-id"] ?? "");
    if (seen.has(id)) continue;
    seen.add(id);
    for (const a of alertsOf(r)) {
      const key = `${a.labels.alertname} ${a.labels.repo ?? a.labels.service ?? ""}`;
      if (!out.has(key)) out.set(key, []);
      out.get(key)?.push(a.status);
    }
  }
  return out;
}

/** Alerts that said the same thing twice in a row (firing, firing) or resolved what never fired. */
export function saidTwice(lines: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [key, said] of lines) {
    const repeated = said.some((s, i) => (i === 0 ? s !== "firing" : s === said[i - 1]));
    if (repeated) bad.push(`${key}: ${said.join(",")}`);
  }
  return bad;
}
