import { z } from "zod";
import { defineEndpoint } from "./event.js";
import { IsoTime, Severity } from "./events/common.js";
import { ServiceState } from "./events/service.js";

/** The uptime windows history keeps; anything else is refused naming these. */
export const HISTORY_WINDOWS = ["24h", "7d", "30d", "90d", "365d"] as const;
export const HistoryWindow = z.enum(HISTORY_WINDOWS);
export type HistoryWindow = z.infer<typeof HistoryWindow>;

/** Uptime ratio (0..1) per window, of the results outside maintenance windows; null where none was observed in it. */
export const UptimeFigures = z.object({
  "24h": z.number().nullable(),
  "7d": z.number().nullable(),
  "30d": z.number().nullable(),
  "90d": z.number().nullable(),
  "365d": z.number().nullable(),
});
export type UptimeFigures = z.infer<typeof UptimeFigures>;

/** One response-time bucket: its start, the number of timed results and their min, mean, p95 (from a fixed histogram) and max in ms. */
export const ResponsePoint = z.object({
  t: IsoTime,
  n: z.number().int().nonnegative(),
  min: z.number(),
  avg: z.number(),
  p95: z.number(),
  max: z.number(),
});
export type ResponsePoint = z.infer<typeof ResponsePoint>;

/** One down or degraded period of a check; `end` null while it lasts (durationMs then counts up to now). */
export const Incident = z.object({
  start: IsoTime,
  end: IsoTime.nullable(),
  durationMs: z.number().nonnegative(),
  /** The worst state seen in the period. */
  state: z.enum(["down", "degraded"]),
  firstError: z.string().nullable(),
  loopId: z.string().nullable(),
  /** Inside a maintenance window: listed on the check's page, never on status pages, in counts or in metrics. */
  maintenance: z.boolean().default(false),
});
export type Incident = z.infer<typeof Incident>;

export const HistoryCheckRequest = z.object({ name: z.string().min(1).max(256), window: HistoryWindow.default("24h") });
/**
 * A check's history: `known` false when nothing was ever recorded for it; `removed` when it is
 * no longer in `tracker.checks` (its history stays readable until its retention ends).
 */
export const HistoryCheckReply = z.object({
  name: z.string(),
  known: z.boolean(),
  removed: z.boolean(),
  state: ServiceState.nullable(),
  /** The check's last result fell inside a maintenance window. */
  maintenance: z.boolean().default(false),
  since: IsoTime.nullable(),
  window: HistoryWindow,
  uptime: UptimeFigures,
  series: z.array(ResponsePoint),
  incidents: z.array(Incident),
});
export type HistoryCheckReply = z.infer<typeof HistoryCheckReply>;

/** Several checks at once, for status pages and badges: what they may show and nothing else. */
export const HistoryStatusRequest = z.object({
  checks: z.array(z.string().min(1).max(256)).max(1_000),
  days: z.number().int().min(1).max(365).default(90),
});
export const CheckStatusSummary = z.object({
  name: z.string(),
  known: z.boolean(),
  state: ServiceState.nullable(),
  /** The check's last result fell inside a maintenance window. */
  maintenance: z.boolean().default(false),
  uptime: UptimeFigures,
  /** Mean response time over the last 24h in ms, null when none was timed. */
  responseMs: z.number().nullable(),
  /**
   * One entry per calendar day (history.timeZone), oldest first, today last. Results inside a
   * maintenance window are not in `uptime` (null when the day had no other); `maintenance` says the day had some.
   */
  days: z.array(z.object({ date: z.string(), uptime: z.number().nullable(), maintenance: z.boolean().default(false) })),
  incidents: z.array(z.object({ start: IsoTime, end: IsoTime.nullable(), durationMs: z.number().nonnegative() })),
  /** Incidents recorded in the last 365 days. */
  incidentCount: z.number().int().nonnegative(),
});
export type CheckStatusSummary = z.infer<typeof CheckStatusSummary>;
export const HistoryStatusReply = z.object({ checks: z.array(CheckStatusSummary) });
export type HistoryStatusReply = z.infer<typeof HistoryStatusReply>;

/** One day of the maintenance trend; counts by loop kind (open ones by kind, then severity). */
export const TrendDay = z.object({
  date: z.string(),
  open: z.record(z.string(), z.partialRecord(Severity, z.number().int().nonnegative())),
  openTotal: z.number().int().nonnegative(),
  opened: z.record(z.string(), z.number().int().nonnegative()),
  closed: z.record(z.string(), z.number().int().nonnegative()),
  /** Mean time from open to acknowledge / to close, of the loops acknowledged / closed that day, per kind. */
  meanAckMs: z.record(z.string(), z.number().nonnegative()),
  meanCloseMs: z.record(z.string(), z.number().nonnegative()),
});
export type TrendDay = z.infer<typeof TrendDay>;
export const HistoryTrendRequest = z.object({ days: z.number().int().min(1).max(90).default(90) });
export const HistoryTrendReply = z.object({ timeZone: z.string(), days: z.array(TrendDay) });
export type HistoryTrendReply = z.infer<typeof HistoryTrendReply>;

/**
 * Served by: history (Services API service "history"). Called by: console, operator CLI.
 * `history.check` answers 400 for a window outside HISTORY_WINDOWS.
 */
export const historyCheck = defineEndpoint({
  name: "history-check",
  subject: "mirror.history.check",
  request: HistoryCheckRequest,
  reply: HistoryCheckReply,
});
export const historyStatus = defineEndpoint({
  name: "history-status",
  subject: "mirror.history.status",
  request: HistoryStatusRequest,
  reply: HistoryStatusReply,
});
export const historyTrend = defineEndpoint({
  name: "history-trend",
  subject: "mirror.history.trend",
  request: HistoryTrendRequest,
  reply: HistoryTrendReply,
});

export const HistoryRepoRequest = z.object({
  repo: z.string().min(1).max(4_096),
  days: z.number().int().min(1).max(90).default(90),
});
/** One signal (repo loop kind) of a repository: how long it was true in the window, and whether it is now. */
export const RepoSignal = z.object({
  kind: z.string(),
  open: z.boolean(),
  since: IsoTime.nullable(),
  trueMs: z.number().nonnegative(),
  ratio: z.number().min(0).max(1),
  /** When it was true within the window, oldest first (clipped to it); `end` null while it still is. */
  periods: z.array(z.object({ start: IsoTime, end: IsoTime.nullable() })).default([]),
});
export type RepoSignal = z.infer<typeof RepoSignal>;
/** `at`: when the history answered (the end of the window). */
export const HistoryRepoReply = z.object({
  repo: z.string(),
  days: z.number().int(),
  at: IsoTime.optional(),
  signals: z.array(RepoSignal),
});
export type HistoryRepoReply = z.infer<typeof HistoryRepoReply>;
/** Served by: history. Called by: console (a repository's signals over the last days). */
export const historyRepo = defineEndpoint({
  name: "history-repo",
  subject: "mirror.history.repo",
  request: HistoryRepoRequest,
  reply: HistoryRepoReply,
});
