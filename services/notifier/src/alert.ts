import { hostname } from "node:os";
import type { Loop } from "@mirror/contracts";
import { defang, modelSuggestion } from "./template.js";

/** Alertmanager's zero time: what `endsAt` says while an alert fires. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** One loop as the notifier tracks it inside a group (the stored form of an Alertmanager alert). */
export interface AlertState {
  loopId: string;
  rev: number;
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  /** Acknowledged, suppressed by a parent, in a maintenance window, or snoozed until `mutedUntil` (ms): no firing messages, but a resolved one still goes out. */
  muted: boolean;
  mutedUntil: number | null;
  /** Escalation copies only count from this time (ms). */
  activeFrom: number;
  /** Last status that went out for this loop in this group. */
  notified: "none" | "firing";
  /** Held back by quiet hours: its news goes out in the catch-up message, even if it resolved meanwhile. */
  held: boolean;
  reminders: number;
  firstNotifiedAt: number | null;
}

/** This machine's name: where `pnpm start` and compose run the scanner that reads the repositories. */
const HOST = hostname();

/**
 * Alertmanager's `instance`: what the loop is about, as receivers' default templates expect it.
 * A service loop names its checked target (host:port, from the tracker's status), else the
 * check; a repository loop names the host it lives on.
 */
function instanceOf(loop: Loop, host: string): string {
  const target = loop.evidence.target;
  if (typeof target === "string" && target) return target;
  if (loop.entity.type === "service") return loop.entity.service ?? host;
  // site.unreachable: the probe site that went silent.
  if (loop.entity.type === "site") return loop.entity.site ?? host;
  return host;
}

/**
 * The labels of a loop: alertname = kind, severity, repo or service, loop_id, and
 * Alertmanager's `job` (the service that observed it) and `instance` (see instanceOf).
 */
export function loopLabels(loop: Loop, host = HOST): Record<string, string> {
  const labels: Record<string, string> = {
    alertname: loop.kind,
    severity: loop.severity,
    loop_id: loop.id,
    entity: loop.entity.type,
  };
  if (loop.entity.repo) labels.repo = loop.entity.repo;
  if (loop.entity.service) labels.service = loop.entity.service;
  if (loop.entity.site) labels.site = loop.entity.site;
  labels.job = loop.entity.type === "repo" ? "scanner" : "service-tracker";
  labels.instance = instanceOf(loop, host);
  return labels;
}

/**
 * The annotations: summary and next action (the model's triage when there is one). Model text
 * is untrusted: links defanged, and the next action labelled as the adapter's unverified
 * suggestion, never as a command to run.
 */
export function loopAnnotations(loop: Loop): Record<string, string> {
  const triage = loop.triage;
  const out: Record<string, string> = { summary: triage ? defang(triage.summary) : loop.summary };
  if (triage?.nextAction) out.nextAction = modelSuggestion(triage.adapter, triage.nextAction);
  return out;
}

/** Turns a loop into the alert it is now, keeping what this group already knows about it. */
export function toAlert(loop: Loop, prev: AlertState | undefined, activeFrom: number): AlertState {
  const closed = loop.status === "closed";
  const snoozedUntil = loop.snoozedUntil ? Date.parse(loop.snoozedUntil) : null;
  return {
    loopId: loop.id,
    rev: loop.rev,
    status: closed ? "resolved" : "firing",
    labels: loopLabels(loop),
    annotations: loopAnnotations(loop),
    startsAt: loop.openedAt,
    endsAt: closed ? (loop.closedAt ?? loop.updatedAt) : ZERO_TIME,
    muted:
      loop.status === "acknowledged" ||
      loop.status === "snoozed" ||
      loop.status === "suppressed" ||
      loop.status === "maintenance",
    mutedUntil: loop.status === "snoozed" ? snoozedUntil : null,
    activeFrom,
    notified: prev?.notified ?? "none",
    held: prev?.held ?? false,
    reminders: prev?.reminders ?? 0,
    firstNotifiedAt: prev?.firstNotifiedAt ?? null,
  };
}

/** Whether an alert is muted at `now` (a snooze ends by itself). */
export function isMuted(a: AlertState, now: number): boolean {
  if (!a.muted) return false;
  return a.mutedUntil === null || now < a.mutedUntil;
}
