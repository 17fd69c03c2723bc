import { z } from "zod";
import { defineEndpoint } from "./event.js";
import { Loop, LoopStatus } from "./events/loop.js";
import { IsoTime, Severity } from "./events/common.js";
import { ServiceKind, ServiceState } from "./events/service.js";

/** Reply of any command that failed: a stable code and a message. */
export const CommandError = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type CommandError = z.infer<typeof CommandError>;

const By = z.string().min(1).max(200).default("operator");

/** Filter of loopsList (and `GET /loops`): any of the statuses, kinds and severities given; nothing given = all loops. */
export const LoopsListRequest = z.object({
  status: z.union([LoopStatus, z.array(LoopStatus)]).optional(),
  kind: z.union([z.string(), z.array(z.string())]).optional(),
  severity: z.union([Severity, z.array(Severity)]).optional(),
});
export type LoopsListRequest = z.infer<typeof LoopsListRequest>;
export const LoopsListReply = z.object({ loops: z.array(Loop) });
export const LoopGetRequest = z.object({ loopId: z.string().min(1) });
/** A command on one loop; `by` is recorded in its history as `user:<by>`. */
export const LoopCommand = z.object({ loopId: z.string().min(1), by: By, note: z.string().max(2_000).optional() });
/** Snooze for a duration ("2h") or until a time; the end must be in the future. */
export const LoopSnooze = LoopCommand.extend({ until: IsoTime.optional(), for: z.string().optional() });
export type LoopCommand = z.infer<typeof LoopCommand>;
export type LoopSnooze = z.infer<typeof LoopSnooze>;
export const LoopReply = z.object({ loop: Loop });

/**
 * Commands owned by the loop-detector (Services API service "loop-detector"; the same as its
 * HTTP API on `loops.port`). Errors come back as Services API errors with the HTTP status as
 * code: 404 unknown loop id, 400 bad input (a snooze into the past), 409 not possible in the
 * loop's status (acknowledging a closed loop).
 */
export const loopsList = defineEndpoint({
  name: "loops-list",
  subject: "mirror.loops.list",
  request: LoopsListRequest,
  reply: LoopsListReply,
});
export const loopsGet = defineEndpoint({
  name: "loops-get",
  subject: "mirror.loops.get",
  request: LoopGetRequest,
  reply: LoopReply,
});
export const loopsAck = defineEndpoint({
  name: "loops-ack",
  subject: "mirror.loops.ack",
  request: LoopCommand,
  reply: LoopReply,
});
export const loopsClose = defineEndpoint({
  name: "loops-close",
  subject: "mirror.loops.close",
  request: LoopCommand,
  reply: LoopReply,
});
export const loopsSnooze = defineEndpoint({
  name: "loops-snooze",
  subject: "mirror.loops.snooze",
  request: LoopSnooze,
  reply: LoopReply,
});
export const loopsReopen = defineEndpoint({
  name: "loops-reopen",
  subject: "mirror.loops.reopen",
  request: LoopCommand,
  reply: LoopReply,
});
/** Like reopen, but only for an acknowledged loop. */
export const loopsUnack = defineEndpoint({
  name: "loops-unack",
  subject: "mirror.loops.unack",
  request: LoopCommand,
  reply: LoopReply,
});

/** Commands owned by the scanner. */
export const ScanNowRequest = z.object({ path: z.string().optional() });
export const ScanNowReply = z.object({
  repos: z.number().int().nonnegative(),
  published: z.number().int().nonnegative(),
});
export const scanNow = defineEndpoint({
  name: "scan-now",
  subject: "mirror.scan.now",
  request: ScanNowRequest,
  reply: ScanNowReply,
});
/** One repository the scanner found under its roots. */
export const ScannedRepo = z.object({ path: z.string(), kind: z.string() });
export const ScanReposReply = z.object({
  repos: z.array(ScannedRepo),
  roots: z.number().int().nonnegative(),
  lastScanAt: IsoTime.nullable(),
});
export type ScanReposReply = z.infer<typeof ScanReposReply>;
/** Owned by the scanner: every repository found at the last scan, and when that scan finished (the console's Repos page). */
export const scanRepos = defineEndpoint({
  name: "scan-repos",
  subject: "mirror.scan.repos",
  request: z.object({}),
  reply: ScanReposReply,
});

/** One check the service-tracker watches, as `mirror checks` shows it. */
export const CheckSummary = z.object({
  name: z.string(),
  kind: ServiceKind,
  state: ServiceState,
  since: IsoTime,
  reason: z.string().nullable(),
  /** Response time of the latest observation (HTTP/TCP checks), when measured. */
  latencyMs: z.number().nonnegative().nullable().optional(),
  /** When it was last observed. */
  checkedAt: IsoTime.optional(),
  /** The latest failure's reason, kept after a recovery (the console's "last error"). */
  lastError: z.string().nullable().optional(),
  /** Heartbeats only: the unguessable key of `GET|POST /ping/<key>[/start|/fail]` (a credential: show it to the owner only). */
  pingKey: z.string().optional(),
});
export type CheckSummary = z.infer<typeof CheckSummary>;
export const ChecksListRequest = z.object({});
export const ChecksListReply = z.object({ checks: z.array(CheckSummary) });

/** Owned by the service-tracker (Services API service "service-tracker"): every configured check and mesh member with its state. */
export const checksList = defineEndpoint({
  name: "checks-list",
  subject: "mirror.tracker.checks.list",
  request: ChecksListRequest,
  reply: ChecksListReply,
});
