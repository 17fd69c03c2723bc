import type { QuietHours } from "@mirror/contracts";

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight (with seconds and ms as a fraction) in a time zone. */
export function localMinutes(now: number, tz: string): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone: tz,
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
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

const mod = (x: number, m: number) => ((x % m) + m) % m;

/**
 * When the quiet that holds `now` ends (ms): the first instant that is not in the window, or null
 * when `now` is not quiet. Usually the next `to` on the local clock; on a daylight-saving night
 * that skips `to` (spring forward), the instant the clock jumps past it; and where that jump
 * lands in the next window (e.g. 03:00-02:00 in New York on the night 02:00 does not exist), the
 * quiet goes on to that window's end.
 */
export function quietEndsAt(q: QuietHours, now: number): number | null {
  if (!inQuietHours(q, now)) return null;
  let t = now;
  for (let i = 0; i < 3; i++) {
    t = windowEnd(q, t);
    if (!inQuietHours(q, t)) break;
  }
  return t;
}

/** The first instant after `now` (which is in the window) at which the local clock has passed `to`. */
function windowEnd(q: QuietHours, now: number): number {
  const to = toMinutes(q.to);
  const first = now + Math.round(mod(to - localMinutes(now, q.tz), 1440) * 60_000);
  // A daylight-saving change inside the window moves the wall clock: correct by the signed difference.
  let diff = mod(to - localMinutes(first, q.tz), 1440);
  if (diff >= 720) diff -= 1440;
  const end = first + Math.round(diff * 60_000);
  if (end > now && crossed(q, now, end, to)) return end;
  // `to` does not exist that night (the clock jumps over it): the window ends at the jump, found
  // by bisection between `now`, before `to`, and `first`, past it.
  let lo = Math.max(now, end);
  let hi = first;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (crossed(q, now, mid, to)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Whether the local clock, read at `t`, has reached `to` since `now` (minutes counted from now's local time). */
function crossed(q: QuietHours, now: number, t: number, to: number): boolean {
  const start = localMinutes(now, q.tz);
  return mod(localMinutes(t, q.tz) - start, 1440) >= mod(to - start, 1440) - 1e-9 && t > now;
}
