import type { Bus } from "@mirror/bus";
import { type MaintenanceInfo, maintenanceList } from "@mirror/contracts";
import type { ServiceContext } from "@mirror/kit";
import type { Redis } from "ioredis";
import { SPANS_KEY } from "./keys.js";

/** One period a maintenance window was (or will be) on, as the loop-detector listed it. */
export interface MaintenanceSpan {
  name: string;
  match: MaintenanceInfo["match"];
  start: number;
  /** Exclusive. */
  end: number;
}

const KEEP_MS = 7 * 86_400_000;
const MAX_SPANS = 500;

/**
 * Whether a window covers a check's downtime: it names the check (or no check), names no repo,
 * and lists no kinds or a `service.*` kind (the loops a check's status opens).
 */
export function coversCheck(match: MaintenanceInfo["match"], check: string): boolean {
  if (match.repo) return false;
  if (match.check && !match.check.includes(check)) return false;
  if (match.kind && !match.kind.some((k) => k.startsWith("service."))) return false;
  return true;
}

/**
 * The periods a listing tells of at `now`: a one-off window's start and end (known ahead), a
 * recurring one's current occurrence (from its end and duration) while it is on.
 */
export function spansOf(list: readonly MaintenanceInfo[], now: number): MaintenanceSpan[] {
  const out: MaintenanceSpan[] = [];
  for (const w of list) {
    if (w.start !== undefined && w.end !== undefined) {
      const start = Date.parse(w.start);
      const end = Date.parse(w.end);
      if (Number.isFinite(start) && Number.isFinite(end) && end > start)
        out.push({ name: w.name, match: w.match, start, end });
    } else if (w.active && w.activeUntil) {
      const end = Date.parse(w.activeUntil);
      if (!Number.isFinite(end)) continue;
      const start = Math.min(now, end - (w.duration ?? 0));
      out.push({ name: w.name, match: w.match, start, end });
    }
  }
  return out;
}

const keyOf = (s: MaintenanceSpan) => `${s.name}@${s.start}`;

/**
 * A new listing merged into the kept periods: listed ones replace their earlier copy; one no longer
 * listed was ended early or removed, so it lasted until `now` at most (one that had not begun
 * never happened). Periods older than a week are forgotten.
 */
export function mergeSpans(
  kept: readonly MaintenanceSpan[],
  listed: readonly MaintenanceSpan[],
  now: number,
): MaintenanceSpan[] {
  const fresh = new Map(listed.map((s) => [keyOf(s), s]));
  const out: MaintenanceSpan[] = [];
  for (const k of kept) {
    if (fresh.has(keyOf(k)) || k.start >= now) continue;
    out.push(k.end > now ? { ...k, end: now } : k);
  }
  out.push(...fresh.values());
  return out
    .filter((s) => s.end >= now - KEEP_MS)
    .sort((a, b) => a.start - b.start)
    .slice(-MAX_SPANS);
}

export interface MaintenanceDeps {
  store: Redis;
  clock: { now(): number };
  /** The loop-detector's windows (`mirror.loops.maintenance.list` over the bus). */
  list: () => Promise<MaintenanceInfo[]>;
  onError?: (err: Error) => void;
}

/**
 * What the history knows of maintenance windows: it asks the loop-detector for its windows (config
 * and run time) before it records a result (a listing at most 2 s old) and every 30 s, and keeps
 * the periods they were on, in memory and in Redis.
 * A one-off window is known from its start; a recurring one from the first listing while it is on.
 */
export class MaintenanceWatch {
  private spans: MaintenanceSpan[] = [];
  private saved = "[]";
  private polling: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** When (monotonic ms) the last listing was asked for, and whether the loop-detector answered it. */
  private askedAt = Number.NEGATIVE_INFINITY;
  private answered = true;

  constructor(private readonly deps: MaintenanceDeps) {}

  /** The kept periods from Redis (after a restart); a store that does not answer leaves them empty. */
  async load(): Promise<void> {
    const json = await this.deps.store.get(SPANS_KEY).catch(() => null);
    if (!json) return;
    try {
      const parsed = JSON.parse(json) as MaintenanceSpan[];
      if (!Array.isArray(parsed)) return;
      // A listing that came first wins for its own windows; the kept ones fill in the rest.
      const known = new Set(this.spans.map(keyOf));
      this.spans = [...parsed.filter((p) => !known.has(keyOf(p))), ...this.spans].sort((a, b) => a.start - b.start);
      if (known.size === 0) this.saved = json;
    } catch {
      // A damaged record is replaced at the next listing.
    }
  }

  /**
   * Asks for the windows and keeps what changed; never throws. The listing is always asked for
   * after the call; callers arriving while one runs share the one that follows it (no pile-up).
   */
  poll(): Promise<void> {
    if (this.next) return this.next;
    const after = this.polling ?? Promise.resolve();
    const run = after.then(() => {
      if (this.next === run) this.next = undefined;
      this.polling = run;
      return this.pollOnce();
    });
    this.next = run;
    void run.finally(() => {
      if (this.polling === run) this.polling = undefined;
    });
    return run;
  }

  /**
   * The windows as listed at most `maxAgeMs` ago, before a result is judged by them: asks again
   * only when the last ask is older. A loop-detector that did not answer the last ask is not
   * waited for (the result is judged by what is known; the ask goes on in the background).
   */
  fresh(maxAgeMs = MAINTENANCE_FRESH_MS): Promise<void> {
    if (performance.now() - this.askedAt < maxAgeMs) return Promise.resolve();
    const asked = this.poll();
    return this.answered ? asked : Promise.resolve();
  }

  private async pollOnce(): Promise<void> {
    let list: MaintenanceInfo[];
    this.askedAt = performance.now();
    try {
      list = await this.deps.list();
      this.answered = true;
    } catch (err) {
      this.answered = false;
      this.deps.onError?.(err as Error);
      return;
    }
    const now = this.deps.clock.now();
    this.spans = mergeSpans(this.spans, spansOf(list, now), now);
    const json = JSON.stringify(this.spans);
    if (json === this.saved) return;
    try {
      await this.deps.store.set(SPANS_KEY, json, "PX", KEEP_MS + 86_400_000);
      this.saved = json;
    } catch (err) {
      this.deps.onError?.(err as Error);
    }
  }

  /** The name of a window covering this check's downtime at `t`, if any. */
  covering(check: string, t: number): string | undefined {
    return this.spans.find((s) => s.start <= t && t < s.end && coversCheck(s.match, check))?.name;
  }

  get periods(): readonly MaintenanceSpan[] {
    return this.spans;
  }
}

/**
 * How old the listing may be when a result is recorded: a window added, ended or begun is seen
 * by results at most this late. The listing is asked for on the way of a result, not on a timer,
 * so an idle mesh does not ask every 2 s (it did: 30 round trips a minute through NATS and Redis).
 */
export const MAINTENANCE_FRESH_MS = 2_000;
/** How often the listing is asked for anyway, for the kept periods the pages show. */
export const MAINTENANCE_POLL_MS = 30_000;
/** How long one ask waits for the loop-detector. */
const LIST_TIMEOUT_MS = 2_000;

/** Failed listings in a row before it is logged (the loop-detector may still be starting). */
const QUIET_FAILURES = 5;

/**
 * A MaintenanceWatch on the service's bus: the kept periods loaded, then the windows asked for
 * before results are recorded (`fresh`) and every MAINTENANCE_POLL_MS. A loop-detector that does
 * not answer for QUIET_FAILURES asks in a row is logged once (results are then not marked) and
 * again when it answers.
 */
export async function watchMaintenance(ctx: {
  store: Redis;
  clock: { now(): number };
  bus: Bus;
  log: ServiceContext["log"];
}): Promise<{ watch: MaintenanceWatch; stop: () => void }> {
  let failures = 0;
  const watch = new MaintenanceWatch({
    store: ctx.store,
    clock: ctx.clock,
    list: async () => {
      const { windows } = await ctx.bus.request(maintenanceList, {}, { timeout: LIST_TIMEOUT_MS });
      if (failures >= QUIET_FAILURES) ctx.log.info("maintenance windows readable again");
      failures = 0;
      return windows;
    },
    onError: (err) => {
      if (++failures === QUIET_FAILURES)
        ctx.log.warn(
          { err: err.message },
          "maintenance windows not readable: results are not marked as maintenance until they are",
        );
    },
  });
  // The kept periods before the first result is recorded; a Redis that is away does not hold up the start.
  let wait: NodeJS.Timeout | undefined;
  await Promise.race([watch.load(), new Promise<void>((r) => (wait = setTimeout(r, 1_000)))]);
  clearTimeout(wait);
  void watch.poll();
  const timer = setInterval(() => void watch.poll(), MAINTENANCE_POLL_MS);
  timer.unref();
  return { watch, stop: () => clearInterval(timer) };
}
