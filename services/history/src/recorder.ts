import { MirrorError, type ServiceStatus } from "@mirror/contracts";
import type { Redis } from "ioredis";
import { runLuaFlat } from "@mirror/kit";
import { bucketIndex, type Calendar, latencyBin, RINGS, slotOf } from "./buckets.js";
import { CHECK_TTL_MS, CHECKS, checkKeys, MAX_INCIDENTS, YEAR_MS } from "./keys.js";
import { RECORD } from "./scripts.js";

/** What recording one result led to, for the metric and the tests. */
export type RecordOutcome = "recorded" | "duplicate" | "buffered" | "dropped" | "other-site";

/**
 * Where a check is probed from, in a mesh of several probe sites: its sites (the first one's
 * response times are the check's), how many must see it down (`quorum`), how long a site may be
 * silent before it no longer counts, and the hub site a status without `site` comes from.
 */
export interface CheckSiteView {
  at: readonly string[];
  quorum: number;
  silentAfter: number;
  hub: string;
}

export interface RecorderDeps {
  store: Redis;
  calendar: Calendar;
  clock: { now(): number };
  /** Results held while Redis is unavailable; past it they are dropped. */
  bufferLimit: number;
  onOutcome?: (outcome: RecordOutcome) => void;
  onError?: (err: Error) => void;
  /** The maintenance window covering a check's downtime at a time, if any: results in one are marked, not counted as downtime. */
  maintenance?: (check: string, t: number) => string | undefined;
  /**
   * A check's probe interval and the longest gap between two of its published results that is
   * still one unbroken run of probes (the tracker's keep-alive plus an interval or two). The
   * tracker publishes a status when it changes and otherwise only as a keep-alive every few
   * minutes: the probe results it did not publish are counted here, one per interval, in the
   * state they had (the earlier state before the new status's `since`, the new one from it), so
   * uptime still counts one result per probe. Without it (or for a check it does not know) only
   * published results count.
   */
  beat?: (check: string, kind: string) => { interval: number; maxGap: number } | undefined;
  /**
   * A check's probe sites when the mesh has more than one (undefined: one site, every status
   * counts). A status from a site the check does not run at is not recorded (outcome
   * `other-site`); a check at several sites records their quorum (see RECORD).
   */
  sites?: (check: string) => CheckSiteView | undefined;
}

type Args = [string, ...(string | number)[]];

/** A result waiting for Redis, and whoever waits for it to be written. */
interface Held {
  args: Args;
  written: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A held result that was not written because the recorder stopped first (its message is to be delivered again). */
export class NotWrittenError extends MirrorError {
  override readonly name = "NotWrittenError";
  constructor() {
    super("MIRROR_ERR_NOT_READY", "stopped before Redis was back: the result will be delivered again");
  }
}

/**
 * Turns check results into Redis writes. Results are keyed by event id and observed time, so a
 * redelivery counts once. While Redis is down, results wait in memory (in order, up to
 * `bufferLimit`) and are written when it is back; what does not fit is counted as dropped.
 */
export class Recorder {
  private readonly buffer: Held[] = [];
  private flushing: Promise<void> | undefined;
  dropped = 0;

  constructor(private readonly deps: RecorderDeps) {}

  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * The script's arguments for one result: all time arithmetic happens here, with the injected
   * clock. `order` is its place in the stream (JetStream sequence), -1 when unknown.
   */
  args(s: ServiceStatus, id: string, order = -1): Args {
    const observed = Date.parse(s.observedAt);
    const now = this.deps.clock.now();
    // A producer clock far ahead of ours would fill future buckets: its results count as now.
    const t = Number.isFinite(observed) && observed <= now + 300_000 ? observed : now;
    const since = Math.min(Number.isFinite(Date.parse(s.since)) ? Date.parse(s.since) : t, t);
    const view = this.deps.sites?.(s.name);
    const site = s.site ?? view?.hub ?? "";
    const several = view !== undefined && view.at.length > 1;
    // The response times are the first site's: two sites' paths would mix into one chart.
    const timed = s.latencyMs !== null && (!several || site === view.at[0]);
    const latency = timed && s.latencyMs !== null ? Math.round(s.latencyMs * 10) / 10 : -1;
    const k = checkKeys(s.name);
    const m = bucketIndex(t, "minute");
    const h = bucketIndex(t, "hour");
    const d = this.deps.calendar.day(t);
    const beat = this.deps.beat?.(s.name, s.kind);
    const keys = {
      meta: k.meta,
      ids: k.ids,
      minuteRing: k.minute,
      hourRing: k.hour,
      dayRing: k.day,
      incidents: k.incidents,
      checks: CHECKS,
      maintenanceIncidents: k.maintenance,
    };
    const args = {
      resultId: `${id}@${s.observedAt}`,
      atArg: t,
      stateArg: s.state,
      latencyArg: latency,
      binArg: latency < 0 ? 0 : latencyBin(latency),
      reasonArg: s.reason ?? "",
      sinceArg: since,
      minuteSlot: slotOf(m, "minute"),
      minuteIndex: m,
      hourSlot: slotOf(h, "hour"),
      hourIndex: h,
      daySlot: slotOf(d, "day"),
      dayIndex: d,
      checkName: s.name,
      keepSince: now - YEAR_MS,
      maxIncidents: MAX_INCIDENTS,
      kind: s.kind,
      ttlMs: CHECK_TTL_MS,
      maintArg: this.deps.maintenance?.(s.name, t) ? "1" : "0",
      orderArg: order,
      beatArg: beat ? Math.max(0, Math.round(beat.interval)) : 0,
      maxGapArg: beat ? Math.min(Math.round(beat.maxGap), RINGS.day.ms) : 0,
      dayStartArg: beat ? this.deps.calendar.dayStart(t) : 0,
      siteArg: several ? site : "",
      sitesArg: several ? view.at.join(",") : "",
      quorumArg: several ? view.quorum : 0,
      silentArg: several ? Math.max(0, Math.round(view.silentAfter)) : 0,
    };
    // The script's wire form (keys, then arguments, in the order RECORD names them), kept flat so a held result is one array.
    return [...RECORD.keys.map((n) => keys[n]), ...RECORD.args.map((n) => args[n])] as Args;
  }

  /** Records one result; never throws for an unavailable store (it buffers or drops instead). */
  async record(s: ServiceStatus, id: string, order = -1): Promise<RecordOutcome> {
    const r = await this.recordHeld(s, id, order);
    // Whoever records without waiting does not care when a held result is written.
    r.written?.catch(() => undefined);
    return r.outcome;
  }

  /**
   * Records one result; a held one comes with `written`, which resolves once it is in Redis and
   * rejects (NotWrittenError) when the recorder is abandoned first. The consumer acknowledges a
   * held result only once it is written, so a restart while Redis is away loses nothing: JetStream
   * delivers the result again to the next process.
   */
  async recordHeld(
    s: ServiceStatus,
    id: string,
    order = -1,
  ): Promise<{ outcome: RecordOutcome; written?: Promise<void> }> {
    if (this.otherSite(s)) return { outcome: this.count("other-site") };
    const args = this.args(s, id, order);
    // Held results go first, in order; until Redis answers again new ones join them.
    if (this.buffer.length > 0 || this.deps.store.status === "end") return this.hold(args);
    try {
      const n = (await runLuaFlat(this.deps.store, RECORD, args)) as number;
      return { outcome: this.count(n === 1 ? "recorded" : "duplicate") };
    } catch (err) {
      this.deps.onError?.(err as Error);
      return this.hold(args);
    }
  }

  /** A status from a probe site the check does not run at (a status without `site` is the hub's). */
  otherSite(s: ServiceStatus): boolean {
    const view = this.deps.sites?.(s.name);
    return view !== undefined && !view.at.includes(s.site ?? view.hub);
  }

  private hold(args: Args): { outcome: RecordOutcome; written?: Promise<void> } {
    if (this.buffer.length >= this.deps.bufferLimit) {
      this.dropped++;
      return { outcome: this.count("dropped") };
    }
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const written = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.buffer.push({ args, written, resolve, reject });
    return { outcome: this.count("buffered"), written };
  }

  /** Gives up on the held results (stopping while Redis is away): their waiters get NotWrittenError. */
  abandon(): number {
    const n = this.buffer.length;
    for (const h of this.buffer.splice(0)) h.reject(new NotWrittenError());
    return n;
  }

  private count(o: RecordOutcome): RecordOutcome {
    this.deps.onOutcome?.(o);
    return o;
  }

  /** Writes the held results, oldest first; stops at the first failure and keeps the rest. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      try {
        while (this.buffer.length > 0 && this.deps.store.status === "ready") {
          const held = this.buffer[0] as Held;
          try {
            await runLuaFlat(this.deps.store, RECORD, held.args);
          } catch (err) {
            this.deps.onError?.(err as Error);
            return;
          }
          // abandon() may have emptied the buffer meanwhile: only a result still first is done.
          if (this.buffer[0] === held) this.buffer.shift();
          held.resolve();
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }
}

/** The slot/index pairs of a ring covering [from, to]. */
export function slotsBetween(fromIndex: number, toIndex: number, res: keyof typeof RINGS): (string | number)[] {
  const out: (string | number)[] = [];
  for (let i = Math.max(fromIndex, toIndex - RINGS[res].slots + 1); i <= toIndex; i++) out.push(slotOf(i, res), i);
  return out;
}
