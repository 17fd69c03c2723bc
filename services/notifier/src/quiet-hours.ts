import type { QuietHours } from "@mirror/contracts";

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight (with seconds and ms as a fraction) in a time zone. */
export function localMinutes(now: number, tz: string): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    formatters.set(tz, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(now)).map((p) => [p.type, p.value]));
  return Number(parts.hour) * 60 + Number(parts.minute) + Number(parts.second) / 60 + (now % 1000) / 60_000;
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether `now` falls in the window; a window whose `from` is after `to` spans midnight. */
export function inQuietHours(q: QuietHours, now: number): boolean {
  const m = localMinutes(now, q.tz);
  const from = toMinutes(q.from);
  const to = toMinutes(q.to);
  if (from === to) return false;
  return from < to ? m >= from && m < to : m >= from || m < to;
}

/** When the quiet window that holds `now` ends (ms), or null when `now` is not quiet. */
export function quietEndsAt(q: QuietHours, now: number): number | null {
  if (!inQuietHours(q, now)) return null;
  const to = toMinutes(q.to);
  const delta = (((to - localMinutes(now, q.tz)) % 1440) + 1440) % 1440;
  const first = now + Math.round(delta * 60_000);
  // A daylight-saving change inside the window moves the wall clock: correct by the signed difference.
  let diff = (((to - localMinutes(first, q.tz)) % 1440) + 1440) % 1440;
  if (diff >= 720) diff -= 1440;
  return first + Math.round(diff * 60_000);
}
