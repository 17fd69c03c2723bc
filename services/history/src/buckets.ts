/** Resolutions history keeps: a ring of `slots` buckets each; a slot holds its bucket index so a stale one reads as empty. */
export const RINGS = {
  minute: { ms: 60_000, slots: 48 * 60 },
  hour: { ms: 3_600_000, slots: 90 * 24 },
  day: { ms: 86_400_000, slots: 366 },
} as const;
export type Resolution = keyof typeof RINGS;

/** Upper bounds (ms) of the latency histogram kept per bucket; the last bin is open-ended. p95 is read from it. */
export const LATENCY_BINS = [
  5,
  10,
  25,
  50,
  75,
  100,
  150,
  200,
  300,
  500,
  750,
  1_000,
  2_000,
  5_000,
  10_000,
  Number.POSITIVE_INFINITY,
] as const;

export function latencyBin(ms: number): number {
  for (let i = 0; i < LATENCY_BINS.length; i++) if (ms <= (LATENCY_BINS[i] as number)) return i;
  return LATENCY_BINS.length - 1;
}

/** The upper bound of the bin holding the 95th percentile, never above the bucket's max nor below its min. */
export function p95(hist: readonly number[], min: number, max: number): number {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(total * 0.95);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] as number;
    if (seen >= rank) return Math.max(min, Math.min(max, LATENCY_BINS[i] as number));
  }
  return max;
}

export const bucketIndex = (t: number, res: "minute" | "hour") => Math.floor(t / RINGS[res].ms);
export const slotOf = (index: number, res: Resolution) =>
  ((index % RINGS[res].slots) + RINGS[res].slots) % RINGS[res].slots;

/** `YYYY-MM-DD` of a day index (days since 1970-01-01 of the local calendar). */
export const dateOf = (day: number) => new Date(day * RINGS.day.ms).toISOString().slice(0, 10);

/**
 * Calendar days of one IANA time zone as integers (the local date's days since 1970-01-01), so
 * a DST day of 23 or 25 hours is still one day. Every UTC offset in use is a multiple of 15
 * minutes, so one lookup serves a whole quarter hour.
 */
export class Calendar {
  private readonly fmt: Intl.DateTimeFormat;
  private cachedBlock = Number.NaN;
  private cachedDay = 0;
  private startOf = { day: Number.NaN, start: 0 };

  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  }

  day(t: number): number {
    const block = Math.floor(t / 900_000);
    if (block !== this.cachedBlock) {
      const [y, m, d] = this.fmt
        .format(block * 900_000)
        .split("-")
        .map(Number) as [number, number, number];
      this.cachedDay = Math.floor(Date.UTC(y, m - 1, d) / RINGS.day.ms);
      this.cachedBlock = block;
    }
    return this.cachedDay;
  }

  /** When (UTC ms) the local day holding `t` began: the first quarter hour whose day is day(t). */
  dayStart(t: number): number {
    const day = this.day(t);
    if (this.startOf.day === day) return this.startOf.start;
    // Binary search over quarter hours of the last 26 hours (the longest local day is 25).
    let lo = Math.floor(t / 900_000) - 26 * 4;
    let hi = Math.floor(t / 900_000);
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.day(mid * 900_000) === day) hi = mid;
      else lo = mid + 1;
    }
    this.startOf = { day, start: lo * 900_000 };
    return this.startOf.start;
  }
}
