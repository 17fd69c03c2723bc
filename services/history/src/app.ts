import {
  anyLoopEvent,
  checkQuorum,
  checkSites,
  hubSite,
  LOOP_EVENT_TYPES,
  serviceStatus,
  trackerSites,
} from "@mirror/contracts";
import type { ServiceContext, ServiceSpec, Started } from "@mirror/kit";
import { Calendar } from "./buckets.js";
import { historyEndpoints } from "./endpoints.js";
import { type MaintenanceWatch, watchMaintenance } from "./maintenance.js";
import { historyMetrics } from "./metrics.js";
import { HistoryQueries } from "./queries.js";
import { type CheckSiteView, Recorder, type RecorderDeps } from "./recorder.js";
import { TrendRecorder } from "./trend-recorder.js";

/** Durable consumer names are public API (declared in src/manifest.ts, which provisioning reads). */
export const DURABLES = { status: "history-status", loops: "history-loops" } as const;

/** How often held results are retried while Redis is away. */
const FLUSH_EVERY_MS = 1_000;

export interface HistoryHandles {
  recorder: Recorder;
  queries: HistoryQueries;
  trend: TrendRecorder;
  maintenance: MaintenanceWatch;
}

/** Wires the recorders to the two durable consumers and the queries to the endpoints. */
export async function start(ctx: ServiceContext, ready: (h: HistoryHandles) => void = () => {}): Promise<Started> {
  const { config, store, clock, log, bus } = ctx;
  const calendar = new Calendar(config.history.timeZone);
  let handles: HistoryHandles | undefined;
  const metrics = historyMetrics(ctx.registry, { queries: () => handles?.queries, recorder: () => handles?.recorder });
  let warned = false;
  const maintenance = await watchMaintenance(ctx);
  const recording: RecorderDeps = {
    maintenance: (check, t) => maintenance.watch.covering(check, t),
    store,
    calendar,
    clock,
    bufferLimit: config.history.bufferLimit,
    onOutcome: metrics.outcome,
    onError: (err) => {
      if (!warned) log.warn({ err: err.message }, "store unavailable: holding results in memory");
      warned = true;
    },
  };
  let beats = probeIntervals(config.tracker);
  recording.beat = (check, kind) => {
    const interval = kind === "domain" || kind === "heartbeat" || kind === "mesh" ? undefined : beats.get(check);
    // The tracker publishes at the first probe after its keep-alive is due: up to an interval later, plus lag.
    return interval ? { interval, maxGap: config.tracker.resyncEvery + 2 * interval } : undefined;
  };
  let sites = siteViews(config.tracker);
  recording.sites = (check) => (sites ? (sites.byCheck.get(check) ?? sites.hubOnly) : undefined);
  const recorder = new Recorder(recording);
  const configured = new Set(config.tracker.checks.map((c) => c.name));
  const queries = new HistoryQueries({
    store,
    calendar,
    clock,
    configured: (name, kind) => kind === "mesh" || configured.has(name),
  });
  const trend = new TrendRecorder({ store, calendar, clock });
  handles = { recorder, queries, trend, maintenance: maintenance.watch };
  ctx.watchConfig({
    // Day buckets already written follow the start's time zone: a new one would split days.
    restartOnly: ["history.port", "history.timeZone"],
    apply: (next) => {
      const names = new Set(next.tracker.checks.map((c) => c.name));
      const added = [...names].filter((n) => !configured.has(n));
      const removed = [...configured].filter((n) => !names.has(n));
      recording.bufferLimit = next.history.bufferLimit;
      beats = probeIntervals(next.tracker);
      sites = siteViews(next.tracker);
      configured.clear();
      for (const n of names) configured.add(n);
      return { checksAdded: added, checksRemoved: removed, bufferLimit: next.history.bufferLimit };
    },
  });
  ready(handles);
  const flush = () => {
    if (recorder.buffered === 0) return;
    void recorder.flush().then(() => {
      if (recorder.buffered === 0 && warned) {
        log.info("store back: held results written");
        warned = false;
      }
    });
  };
  store.on("ready", flush);
  const timer = setInterval(flush, FLUSH_EVERY_MS);
  timer.unref();
  // A result held while Redis is away is acknowledged only once written: stopping first, it is delivered again.
  bus.consume(serviceStatus, DURABLES.status, async (s, m) => {
    await maintenance.watch.fresh();
    await (await recorder.recordHeld(s, m.id, m.streamSeq)).written;
  });
  bus.consume(anyLoopEvent, DURABLES.loops, async (e) => void (await trend.record(e)), { types: LOOP_EVENT_TYPES });
  return {
    endpoints: historyEndpoints(queries, calendar.timeZone),
    stop: async () => {
      clearInterval(timer);
      maintenance.stop();
      store.off("ready", flush);
      await recorder.flush();
      const held = recorder.abandon();
      if (held > 0) log.warn({ held }, "stopping with results not written: JetStream delivers them again");
    },
  };
}

/** Each configured check's probe interval (ms), by name. */
function probeIntervals(tracker: ServiceContext["config"]["tracker"]): Map<string, number> {
  return new Map(tracker.checks.map((c) => [c.name, c.interval]));
}

/**
 * With more than one probe site: each configured check's sites and quorum (as the loop-detector
 * judges them); anything else (mesh members, checks no longer configured) is the hub site's alone.
 * Undefined for a one-site mesh, which records every status as before sites.
 */
export function siteViews(
  tracker: ServiceContext["config"]["tracker"],
): { byCheck: Map<string, CheckSiteView>; hubOnly: CheckSiteView } | undefined {
  if (trackerSites(tracker).length < 2) return undefined;
  const hub = hubSite(tracker);
  const silentAfter = tracker.siteMissed * tracker.resyncEvery;
  return {
    byCheck: new Map(
      tracker.checks.map((c) => [
        c.name,
        { at: checkSites(c, tracker), quorum: checkQuorum(c, tracker), silentAfter, hub },
      ]),
    ),
    hubOnly: { at: [hub], quorum: 1, silentAfter, hub },
  };
}

/** The history's spec: main.ts runs it with defineService(), tests with runService(). */
export function historySpec(ready?: (h: HistoryHandles) => void): ServiceSpec {
  return {
    name: "history",
    description: "uptime, response times, incidents and the maintenance trend",
    port: (c) => c.history.port,
    start: (ctx) => start(ctx, ready),
  };
}
