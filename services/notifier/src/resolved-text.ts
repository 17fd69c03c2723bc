/** What a closed loop of each kind says instead of its firing text: what changed, not what to do. */
const AGAIN: Record<string, string> = {
  "repo.dirty": "Clean again",
  "repo.unpushed": "Pushed",
  "repo.no-upstream": "Backed up upstream now",
  "repo.untrusted": "Readable again",
  "repo.stash": "No stash left",
  "repo.stale-branch": "No stale branch left",
  "repo.conflict": "Finished",
  "repo.behind": "Up to date again",
  "service.down": "Up again",
  "service.degraded": "Healthy again",
  "heartbeat.missed": "Checked in again",
  "cert.expiring": "Certificate renewed",
  "domain.expiring": "Domain renewed",
};

/** A duration as a person says it: "under a minute", "12m", "3h 12m", "2d 4h". */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 60_000) return "under a minute";
  const m = Math.floor(ms / 60_000);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const min = m % 60;
  if (d > 0) return h ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return min ? `${h}h ${min}m` : `${h}h`;
  return `${min}m`;
}

/** "Clean again after 3h 12m": the resolved summary of a loop of `kind` open from `startsAt` to `endsAt`. */
export function resolvedSummary(kind: string, startsAt: string, endsAt: string): string {
  return `${AGAIN[kind] ?? "Resolved"} after ${humanDuration(Date.parse(endsAt) - Date.parse(startsAt))}`;
}
