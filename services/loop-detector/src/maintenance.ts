import { type LoopEntity, type MaintenanceWindow, MirrorError } from "@mirror/contracts";

/** A window that is on at some time: its name, what it matches and when it ends (ms). */
export interface OpenWindow {
  name: string;
  match: MaintenanceWindow["match"];
  end: number;
}

/** A cron expression that does not parse; names the window. */
export class CronError extends MirrorError {
  override name = "CronError";
  constructor(message: string) {
    super("MIRROR_ERR_CRON", message);
  }
}

const MINUTE = 60_000;
const RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** The five fields of a cron expression as sets of allowed values (day of week 7 is Sunday, as 0). */
export function parseCron(expr: string): Set<number>[] {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5)
    throw new CronError(`"${expr}" is not a 5-field cron expression (minute hour day month weekday)`);
  return fields.map((f, i) => {
    const [lo, hi] = RANGES[i] as [number, number];
    const out = new Set<number>();
    for (const part of f.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) throw new CronError(`"${part}" in "${expr}" is not a cron field (use *, N, N-M, */S, lists)`);
      const from = m[1] === "*" ? lo : Number(m[2]);
      const to = m[1] === "*" ? hi : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? hi : from;
      const step = m[4] !== undefined ? Number(m[4]) : 1;
      if (from < lo || to > hi || from > to || step < 1)
        throw new CronError(`"${part}" in "${expr}" is out of range ${lo}-${hi}`);
      for (let v = from; v <= to; v += step) out.add(i === 4 && v === 7 ? 0 : v);
    }
    return out;
  });
}

/** Wall-clock minute, hour, day, month and weekday of `ms` in `tz`. */
function wallClock(ms: number, format: Intl.DateTimeFormat): number[] {
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(parts.weekday as string);
  return [Number(parts.minute), Number(parts.hour) % 24, Number(parts.day), Number(parts.month), weekday];
}

/** The windows of `loops.maintenance`, compiled once: which are on at a time, and when the next change comes. */
export class MaintenanceWindows {
  private readonly recurring: {
    w: MaintenanceWindow;
    fields: Set<number>[];
    format: Intl.DateTimeFormat;
    duration: number;
  }[] = [];
  private readonly oneOff: { w: MaintenanceWindow; start: number; end: number }[] = [];
  private cache: { minute: number; open: OpenWindow[] } | null = null;

  constructor(windows: readonly MaintenanceWindow[]) {
    for (const w of windows) {
      if (w.cron !== undefined) {
        const format = new Intl.DateTimeFormat("en-US", {
          timeZone: w.tz ?? "UTC",
          hourCycle: "h23",
          minute: "numeric",
          hour: "numeric",
          day: "numeric",
          month: "numeric",
          weekday: "short",
        });
        this.recurring.push({ w, fields: parseCron(w.cron), format, duration: w.duration ?? 0 });
      } else this.oneOff.push({ w, start: Date.parse(w.start as string), end: Date.parse(w.end as string) });
    }
  }

  get size(): number {
    return this.recurring.length + this.oneOff.length;
  }

  /** The windows on at `now`; a recurring one is on from a matching minute for `duration`. */
  openAt(now: number): OpenWindow[] {
    if (this.size === 0) return [];
    const minute = Math.floor(now / MINUTE);
    const out: OpenWindow[] = [];
    for (const o of this.oneOff)
      if (o.start <= now && now < o.end) out.push({ name: o.w.name, match: o.w.match, end: o.end });
    // Recurring windows are looked up per minute (the answer only changes at minute edges, except one-off ends).
    let recurring = this.cache?.minute === minute ? this.cache.open : null;
    if (!recurring) {
      recurring = [];
      for (const r of this.recurring) {
        // The latest matching minute within `duration` before now: the window started there.
        const span = Math.ceil(r.duration / MINUTE);
        for (let back = 0; back < span; back++) {
          const at = (minute - back) * MINUTE;
          const wall = wallClock(at, r.format);
          if (!r.fields.every((set, i) => set.has(wall[i] as number))) continue;
          recurring.push({ name: r.w.name, match: r.w.match, end: at + r.duration });
          break;
        }
      }
      this.cache = { minute, open: recurring };
    }
    return [...out, ...recurring.filter((w) => w.end > now)];
  }

  /** The windows on at `now` that cover a loop of `kind` about `entity`. */
  covering(entity: LoopEntity, kind: string, now: number): OpenWindow[] {
    return this.openAt(now).filter((w) => matches(w.match, entity, kind));
  }
}

/** A window's match: every list it has must contain the entity's check/repo or the loop's kind. */
export function matches(match: MaintenanceWindow["match"], entity: LoopEntity, kind: string): boolean {
  if (match.check && !(entity.service !== undefined && match.check.includes(entity.service))) return false;
  if (match.repo && !(entity.repo !== undefined && match.repo.includes(entity.repo))) return false;
  if (match.kind && !match.kind.includes(kind)) return false;
  return true;
}
