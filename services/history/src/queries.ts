import type {
  CheckStatusSummary,
  HistoryCheckReply,
  HistoryRepoReply,
  HistoryWindow,
  Incident,
  ResponsePoint,
  TrendDay,
  UptimeFigures,
} from "@mirror/contracts";

type ServiceState = NonNullable<HistoryCheckReply["state"]>;
type OpenCounts = TrendDay["open"];
import type { Redis } from "ioredis";
import { runLuaFlat } from "@mirror/kit";
import { bucketIndex, type Calendar, dateOf, p95, RINGS, type Resolution, slotOf } from "./buckets.js";
import { CHECKS, checkKeys, repoKey, trendKey, YEAR_MS } from "./keys.js";
import { slotsBetween } from "./recorder.js";
import { SUM, SUM_MANY } from "./scripts.js";

/** Checks summed per script call by uptimeMany (one call holds Redis for about a millisecond per 20). */
const MANY_CHUNK = 250;

export interface QueryDeps {
  store: Redis;
  calendar: Calendar;
  clock: { now(): number };
  /** Whether a check is still configured (a removed one stays readable, marked as removed). */
  configured?: (name: string, kind: string | undefined) => boolean;
}

const WINDOW_MS: Record<HistoryWindow, number> = {
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
  "90d": 90 * 86_400_000,
  "365d": YEAR_MS,
};

/** The resolution a window is summed and charted at: hours up to 7 days, calendar days beyond. */
const UPTIME_RES: Record<HistoryWindow, "hour" | "day"> = {
  "24h": "hour",
  "7d": "hour",
  "30d": "day",
  "90d": "day",
  "365d": "day",
};
const SERIES_RES: Record<HistoryWindow, Resolution> = {
  "24h": "minute",
  "7d": "hour",
  "30d": "hour",
  "90d": "hour",
  "365d": "day",
};

/** One parsed ring slot. */
interface Bucket {
  index: number;
  n: number;
  up: number;
  timed: number;
  sum: number;
  min: number;
  max: number;
  hist: number[];
  /** Results inside a maintenance window (not in `n`). */
  maint: number;
}

function parseBucket(v: string | null, index: number): Bucket | undefined {
  if (!v) return undefined;
  const f = v.split(",").map(Number);
  if ((f.length !== 25 && f.length !== 26) || f[0] !== index) return undefined;
  return {
    index,
    n: f[1] as number,
    up: f[2] as number,
    timed: f[5] as number,
    sum: f[6] as number,
    min: f[7] as number,
    max: f[8] as number,
    hist: f.slice(9, 25),
    maint: f[25] ?? 0,
  };
}

export class HistoryQueries {
  constructor(private readonly deps: QueryDeps) {}

  /** Index range [from, to] of the buckets a window covers, at its uptime resolution. */
  private range(window: HistoryWindow, res: Resolution, now: number): [number, number] {
    if (res === "day") {
      const today = this.deps.calendar.day(now);
      return [today - Math.round(WINDOW_MS[window] / RINGS.day.ms) + 1, today];
    }
    const to = bucketIndex(now, res);
    return [to - Math.round(WINDOW_MS[window] / RINGS[res].ms) + 1, to];
  }

  /** Share of results that were `up` in a window (null when none was observed). */
  async uptime(name: string, window: HistoryWindow): Promise<number | null> {
    const res = UPTIME_RES[window];
    const [from, to] = this.range(window, res, this.deps.clock.now());
    const keys = checkKeys(name);
    const [n, up] = (await runLuaFlat(
      this.deps.store,
      SUM,
      [res === "day" ? keys.day : keys.hour, ...slotsBetween(from, to, res)],
      1,
    )) as [number, number, number, number];
    return n > 0 ? up / n : null;
  }

  /** One window's uptime of many checks, summed inside Redis a chunk of checks per call (the status overview, the bench). */
  async uptimeMany(names: readonly string[], window: HistoryWindow): Promise<(number | null)[]> {
    const res = UPTIME_RES[window];
    const [from, to] = this.range(window, res, this.deps.clock.now());
    const slots = slotsBetween(from, to, res);
    const chunks: string[][] = [];
    for (let i = 0; i < names.length; i += MANY_CHUNK)
      chunks.push(names.slice(i, i + MANY_CHUNK).map((n) => (res === "day" ? checkKeys(n).day : checkKeys(n).hour)));
    const replies = await Promise.all(
      chunks.map(
        (keys) => runLuaFlat(this.deps.store, SUM_MANY, [...keys, ...slots], keys.length) as Promise<number[]>,
      ),
    );
    return replies.flatMap((r) =>
      Array.from({ length: r.length / 2 }, (_, i) =>
        (r[2 * i] as number) > 0 ? (r[2 * i + 1] as number) / (r[2 * i] as number) : null,
      ),
    );
  }

  async uptimeFigures(
    name: string,
    windows: readonly HistoryWindow[] = ["24h", "7d", "30d", "90d", "365d"],
  ): Promise<UptimeFigures> {
    const values = await Promise.all(windows.map((w) => this.uptime(name, w)));
    const out: UptimeFigures = { "24h": null, "7d": null, "30d": null, "90d": null, "365d": null };
    for (const [i, w] of windows.entries()) out[w] = values[i] ?? null;
    return out;
  }

  private async buckets(name: string, res: Resolution, from: number, to: number): Promise<Bucket[]> {
    const k = checkKeys(name);
    const key = res === "minute" ? k.minute : res === "hour" ? k.hour : k.day;
    const indexes: number[] = [];
    for (let i = Math.max(from, to - RINGS[res].slots + 1); i <= to; i++) indexes.push(i);
    if (indexes.length === 0) return [];
    const values = await this.deps.store.hmget(key, ...indexes.map((i) => String(slotOf(i, res))));
    return indexes.flatMap((i, j) => parseBucket(values[j] ?? null, i) ?? []);
  }

  /** Response time per bucket of a window, oldest first; buckets without a timed result are left out. */
  async series(name: string, window: HistoryWindow): Promise<ResponsePoint[]> {
    const res = SERIES_RES[window];
    const [from, to] = this.range(window, res, this.deps.clock.now());
    const start = (b: Bucket) =>
      res === "day" ? dateStartIso(b.index) : new Date(b.index * RINGS[res].ms).toISOString();
    return (await this.buckets(name, res, from, to))
      .filter((b) => b.timed > 0)
      .map((b) => ({
        t: start(b),
        n: b.timed,
        min: b.min,
        avg: round(b.sum / b.timed),
        p95: p95(b.hist, b.min, b.max),
        max: b.max,
      }));
  }

  /** Incidents that started in the window (or still last), newest first; with `maintenance`, those inside a window too. */
  async incidents(name: string, sinceMs: number, maintenance = true): Promise<Incident[]> {
    const k = checkKeys(name);
    const [closed, inWindow, open] = await Promise.all([
      this.deps.store.zrangebyscore(k.incidents, sinceMs, "+inf"),
      maintenance ? this.deps.store.zrangebyscore(k.maintenance, sinceMs, "+inf") : [],
      this.deps.store.hget(k.meta, "open"),
    ]);
    const now = this.deps.clock.now();
    const stored = [...closed, ...inWindow].map((j) => JSON.parse(j) as StoredIncident);
    const current = open ? (JSON.parse(open) as StoredIncident) : undefined;
    if (current && (maintenance || current.m !== 1)) stored.push(current);
    return stored.sort((a, b) => b.start - a.start).map((o) => toIncident(o, now));
  }

  async check(name: string, window: HistoryWindow): Promise<HistoryCheckReply> {
    const meta = await this.deps.store.hgetall(checkKeys(name).meta);
    const known = Object.keys(meta).length > 0 && meta.state !== undefined;
    const now = this.deps.clock.now();
    const [uptime, series, incidents] = known
      ? await Promise.all([
          this.uptimeFigures(name),
          this.series(name, window),
          this.incidents(name, now - WINDOW_MS[window]),
        ])
      : [await this.uptimeFigures(name, []), [], []];
    const since = meta.since ? Number(meta.since) : Number.NaN;
    return {
      name,
      known,
      removed: known && this.deps.configured ? !this.deps.configured(name, meta.kind) : false,
      state: known ? (meta.state as ServiceState) : null,
      maintenance: meta.mt === "1",
      since: Number.isFinite(since) ? new Date(since).toISOString() : null,
      window,
      uptime,
      series,
      incidents,
    };
  }

  /** What a status page or badge may show of one check: state, uptime, daily bars, incident times. */
  async summary(name: string, days: number): Promise<CheckStatusSummary> {
    const k = checkKeys(name);
    const now = this.deps.clock.now();
    const today = this.deps.calendar.day(now);
    const [meta, uptime, dayBuckets, lastDay, incidents, count] = await Promise.all([
      this.deps.store.hmget(k.meta, "state", "open", "mt"),
      this.uptimeFigures(name),
      this.buckets(name, "day", today - days + 1, today),
      this.buckets(name, "hour", bucketIndex(now, "hour") - 23, bucketIndex(now, "hour")),
      this.incidents(name, now - days * RINGS.day.ms, false),
      this.deps.store.zcount(k.incidents, now - YEAR_MS, "+inf"),
    ]);
    const byDay = new Map(dayBuckets.map((b) => [b.index, b]));
    const timed = lastDay.reduce((a, b) => a + b.timed, 0);
    return {
      name,
      known: meta[0] !== null,
      state: (meta[0] as ServiceState | null) ?? null,
      maintenance: meta[2] === "1",
      uptime,
      responseMs: timed > 0 ? round(lastDay.reduce((a, b) => a + b.sum, 0) / timed) : null,
      days: Array.from({ length: days }, (_, i) => {
        const b = byDay.get(today - days + 1 + i);
        return {
          date: dateOf(today - days + 1 + i),
          uptime: b && b.n > 0 ? b.up / b.n : null,
          maintenance: (b?.maint ?? 0) > 0,
        };
      }),
      incidents: incidents.map(({ start, end, durationMs }) => ({ start, end, durationMs })),
      incidentCount: count + (meta[1] && (JSON.parse(meta[1]) as StoredIncident).m !== 1 ? 1 : 0),
    };
  }

  /** How long each signal (repo loop kind) of a repository was true in the last `days` days, longest first. */
  async repo(repo: string, days: number): Promise<HistoryRepoReply> {
    const now = this.deps.clock.now();
    const from = now - days * RINGS.day.ms;
    const stored = await this.deps.store.hgetall(repoKey(repo));
    const signals = Object.entries(stored).map(([kind, json]) => {
      const r = JSON.parse(json) as { s?: unknown; o?: number };
      const spans = Array.isArray(r.s) ? (r.s as [number, number][]) : [];
      const openSince = typeof r.o === "number" && r.o >= 0 ? r.o : null;
      const clip = (a: number, b: number) => Math.max(0, Math.min(b, now) - Math.max(a, from));
      const trueMs =
        spans.reduce((sum, [a, b]) => sum + clip(a, b), 0) + (openSince === null ? 0 : clip(openSince, now));
      const iso = (t: number) => new Date(Math.max(t, from)).toISOString();
      const periods = [
        ...spans.filter(([a, b]) => clip(a, b) > 0).map(([a, b]) => ({ start: iso(a), end: iso(Math.min(b, now)) })),
        ...(openSince === null ? [] : [{ start: iso(openSince), end: null }]),
      ];
      return {
        kind,
        open: openSince !== null,
        since: openSince === null ? null : new Date(openSince).toISOString(),
        trueMs,
        ratio: Math.min(1, trueMs / (now - from)),
        periods,
      };
    });
    return {
      repo,
      days,
      at: new Date(now).toISOString(),
      signals: signals.sort((a, b) => b.trueMs - a.trueMs || a.kind.localeCompare(b.kind)),
    };
  }

  /** Every check ever recorded that still has history. */
  async checks(): Promise<string[]> {
    return (await this.deps.store.smembers(CHECKS)).sort();
  }

  /** The maintenance trend: one entry per calendar day, oldest first; open counts carry over days without events. */
  async trend(days: number): Promise<TrendDay[]> {
    const today = this.deps.calendar.day(this.deps.clock.now());
    const indexes = Array.from({ length: days }, (_, i) => today - days + 1 + i);
    const hashes = await Promise.all(indexes.map((d) => this.deps.store.hgetall(trendKey(d))));
    let open: OpenCounts = {};
    return indexes.map((d, i) => {
      const h = hashes[i] ?? {};
      if (h.snapshot) open = openOf(h);
      const per = (prefix: string) => fieldsOf(h, prefix);
      const mean = (sum: string, n: string) => {
        const s = per(sum);
        const c = per(n);
        return Object.fromEntries(
          Object.entries(s).flatMap(([kind, v]) => (c[kind] ? [[kind, Math.round(v / (c[kind] as number))]] : [])),
        );
      };
      return {
        date: dateOf(d),
        open,
        openTotal: Object.values(open).reduce(
          (a, bySev) => a + Object.values(bySev ?? {}).reduce((x: number, y) => x + (y ?? 0), 0),
          0,
        ),
        opened: per("opened:"),
        closed: per("closed:"),
        meanAckMs: mean("ackMs:", "ackN:"),
        meanCloseMs: mean("closeMs:", "closeN:"),
      };
    });
  }
}

function fieldsOf(h: Record<string, string>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [f, v] of Object.entries(h)) if (f.startsWith(prefix)) out[f.slice(prefix.length)] = Number(v);
  return out;
}

function openOf(h: Record<string, string>): OpenCounts {
  const out: OpenCounts = {};
  for (const [f, v] of Object.entries(fieldsOf(h, "open:"))) {
    const cut = f.lastIndexOf("|");
    const kind = f.slice(0, cut);
    out[kind] ??= {};
    (out[kind] as Record<string, number>)[f.slice(cut + 1)] = v;
  }
  return out;
}

interface StoredIncident {
  start: number;
  end?: number;
  state: "down" | "degraded";
  firstError: string;
  loopId: string;
  /** 1 for a period inside a maintenance window. */
  m?: number;
}

function toIncident(o: StoredIncident, now: number): Incident {
  const end = typeof o.end === "number" ? o.end : null;
  return {
    start: new Date(o.start).toISOString(),
    end: end === null ? null : new Date(end).toISOString(),
    durationMs: Math.max(0, (end ?? now) - o.start),
    state: o.state,
    firstError: o.firstError || null,
    loopId: o.loopId || null,
    maintenance: o.m === 1,
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
const dateStartIso = (day: number) => new Date(day * RINGS.day.ms).toISOString();
