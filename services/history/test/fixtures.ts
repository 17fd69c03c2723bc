import type { Loop, ServiceStatus } from "@mirror/contracts";
import { createLogger, ManualClock } from "@mirror/kit";
import { Redis } from "ioredis";
import { Calendar } from "../src/buckets.js";
import { HistoryQueries } from "../src/queries.js";
import { Recorder, type RecorderDeps } from "../src/recorder.js";
import { TrendRecorder } from "../src/trend-recorder.js";

let n = 0;

/** A recorder, queries and trend on a fresh key prefix of a real Redis, with a manual clock. */
export function historyOn(
  url: string,
  opts: {
    timeZone?: string;
    start?: string;
    bufferLimit?: number;
    configured?: string[];
    maintenance?: (check: string, t: number) => string | undefined;
    beat?: (check: string, kind: string) => { interval: number; maxGap: number } | undefined;
    sites?: RecorderDeps["sites"];
  } = {},
) {
  const store = new Redis(url, {
    keyPrefix: `t${process.pid}-${++n}:`,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 100,
  });
  store.on("error", () => undefined);
  const clock = new ManualClock(Date.parse(opts.start ?? "2026-03-10T12:00:00Z"));
  const calendar = new Calendar(opts.timeZone ?? "UTC");
  const recorder = new Recorder({
    store,
    calendar,
    clock,
    bufferLimit: opts.bufferLimit ?? 100,
    maintenance: opts.maintenance,
    beat: opts.beat,
    sites: opts.sites,
  });
  const configured = opts.configured;
  const queries = new HistoryQueries({
    store,
    calendar,
    clock,
    configured: configured ? (name) => configured.includes(name) : undefined,
  });
  const trend = new TrendRecorder({ store, calendar, clock });
  let seq = 0;
  /** One result observed now (the clock's time), as the tracker would publish it. */
  const observe = (
    name: string,
    state: ServiceStatus["state"],
    extra: Partial<ServiceStatus> & { sinceMs?: number } = {},
  ) => {
    const at = new Date(clock.now()).toISOString();
    const s: ServiceStatus = {
      name,
      kind: "http",
      state,
      observedAt: at,
      seq: ++seq,
      since: new Date(extra.sinceMs ?? clock.now()).toISOString(),
      latencyMs: 20,
      reason: state === "up" ? null : "connect ECONNREFUSED",
      failedConditions: [],
      heartbeat: null,
      cert: null,
      dependsOn: [],
      details: {},
      ...extra,
    };
    return { status: s, id: `status:${name}:${s.seq}` };
  };
  return {
    store,
    clock,
    calendar,
    recorder,
    queries,
    trend,
    observe,
    log: createLogger("t", { write: () => true } as never, "silent"),
  };
}

export function loopOf(
  id: string,
  kind: string,
  status: Loop["status"],
  rev: number,
  opts: { openedAt: string; at: string; severity?: Loop["severity"]; service?: string; closedAt?: string },
): Loop {
  return {
    id,
    kind,
    entity: opts.service ? { type: "service", service: opts.service } : { type: "repo", repo: `/r/${id}` },
    severity: opts.severity ?? "medium",
    status,
    summary: kind,
    openedAt: opts.openedAt,
    updatedAt: opts.at,
    closedAt: opts.closedAt ?? (status === "closed" ? opts.at : null),
    snoozedUntil: null,
    suppressedBy: [],
    rev,
    evidence: {},
    triage: null,
    history: [],
  };
}
