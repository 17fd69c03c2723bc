/** Key names under the service's prefix (`mirror:history:`); one group per check, one for the trend. */
export const checkKeys = (name: string) => {
  const base = `c:${name}:`;
  return {
    meta: `${base}meta`,
    ids: `${base}ids`,
    minute: `${base}m`,
    hour: `${base}h`,
    day: `${base}d`,
    incidents: `${base}inc`,
    maintenance: `${base}minc`,
  };
};
export const CHECKS = "checks";
export const LOOP_PREFIX = "loop:";
export const OPEN_LOOPS = "loops:open";
export const trendKey = (day: number) => `trend:${day}`;
/** The kept maintenance periods, so that a restart or a replayed result still sees the windows that were on. */
export const SPANS_KEY = "maint:spans";

/** Retention: incidents and the day ring a year, kept keys a little beyond so a year is always whole. */
export const YEAR_MS = 365 * 86_400_000;
export const CHECK_TTL_MS = 400 * 86_400_000;
export const MAX_INCIDENTS = 1_000;
export const TREND_DAYS = 90;
export const TREND_TTL_MS = 92 * 86_400_000;
export const CLOSED_LOOP_TTL_MS = 7 * 86_400_000;
/** Per repository: how long each signal (repo loop kind) was true, kept for 90 days. */
export const repoKey = (repo: string) => `repo:${repo}`;
export const REPO_SIGNAL_WINDOW_MS = 90 * 86_400_000;
