import { formatDuration, MirrorError } from "@mirror/contracts";
import { Cron } from "croner";
import type { Observed } from "../status.js";

/** A heartbeat check, compiled: its schedule as a function from "last seen" to "next expected". */
export interface HeartbeatSpec {
  name: string;
  grace: number;
  /** The first time a check-in is expected strictly after `after`. */
  nextExpected(after: number): number;
  describe: string;
}

/** What is known about a job's check-ins (persisted, so a restart does not forget them). */
export interface HeartbeatRecord {
  lastPingAt: number | null;
  lastStartAt: number | null;
  lastFailAt: number | null;
  /** Since when the tracker has been expecting check-ins (first start). */
  watchingSince: number;
}

/** A cron expression or timezone that does not parse; the caller names the check. */
export class ScheduleError extends MirrorError {
  override name = "ScheduleError";
  constructor(message: string) {
    super("MIRROR_ERR_SCHEDULE", message);
  }
}

export function compileHeartbeat(
  name: string,
  hb: { every?: number; cron?: string; tz?: string; grace: number },
): HeartbeatSpec {
  if (hb.cron !== undefined) {
    let cron: Cron;
    try {
      cron = new Cron(hb.cron, { timezone: hb.tz, paused: true });
      cron.nextRun();
    } catch (err) {
      throw new ScheduleError(
        `cron "${hb.cron}"${hb.tz ? ` in ${hb.tz}` : ""} does not parse: ${(err as Error).message}`,
      );
    }
    return {
      name,
      grace: hb.grace,
      describe: `cron "${hb.cron}"${hb.tz ? ` (${hb.tz})` : ""}`,
      nextExpected: (after) => cron.nextRun(new Date(after))?.getTime() ?? Number.POSITIVE_INFINITY,
    };
  }
  const every = hb.every as number;
  return { name, grace: hb.grace, describe: `every ${formatDuration(every)}`, nextExpected: (after) => after + every };
}

/** When the job is due and when it counts as missed, given what is known and the time now. */
export function expectation(spec: HeartbeatSpec, rec: HeartbeatRecord): { expectedBy: number; deadline: number } {
  const base = rec.lastPingAt ?? rec.watchingSince;
  const expectedBy = spec.nextExpected(base);
  let deadline = expectedBy + spec.grace;
  // A job that said it started must finish within the grace (as healthchecks.io does).
  if (rec.lastStartAt !== null && rec.lastStartAt > (rec.lastPingAt ?? -1))
    deadline = Math.min(deadline, rec.lastStartAt + spec.grace);
  return { expectedBy, deadline };
}

const iso = (t: number | null) => (t === null || !Number.isFinite(t) ? null : new Date(t).toISOString());

/**
 * The state of a heartbeat at `now`: down when it failed or missed its deadline, unknown
 * before its first check-in is due, up otherwise.
 */
export function evaluate(spec: HeartbeatSpec, rec: HeartbeatRecord, now: number): Observed & { deadline: number } {
  const { expectedBy, deadline } = expectation(spec, rec);
  const failed =
    rec.lastFailAt !== null && rec.lastFailAt >= (rec.lastPingAt ?? -1) && rec.lastFailAt >= (rec.lastStartAt ?? -1);
  const missed = !failed && now > deadline;
  const heartbeat = { lastPingAt: iso(rec.lastPingAt), expectedBy: iso(expectedBy), missed, failed };
  const details = {
    schedule: spec.describe,
    graceMs: spec.grace,
    deadline: iso(deadline),
    lastStartAt: iso(rec.lastStartAt),
    lastFailAt: iso(rec.lastFailAt),
  };
  const base = { latencyMs: null, failedConditions: [], heartbeat, details, deadline };
  if (failed) return { ...base, state: "down", reason: `the job reported a failure at ${iso(rec.lastFailAt)}` };
  if (missed) {
    const running =
      rec.lastStartAt !== null && rec.lastStartAt > (rec.lastPingAt ?? -1) && deadline === rec.lastStartAt + spec.grace;
    const reason = running
      ? `started at ${iso(rec.lastStartAt)} but did not finish within ${formatDuration(spec.grace)}`
      : `no check-in ${rec.lastPingAt === null ? "yet" : `since ${iso(rec.lastPingAt)}`}: expected by ${iso(expectedBy)} (${spec.describe}, grace ${formatDuration(spec.grace)})`;
    return { ...base, state: "down", reason };
  }
  if (rec.lastPingAt === null)
    return { ...base, state: "unknown", reason: `waiting for the first check-in, expected by ${iso(expectedBy)}` };
  return { ...base, state: "up", reason: null };
}
