import type { AlertState } from "./alert.js";
import type { Draft, GroupState } from "./group.js";
import { resolvedSummary } from "./resolved-text.js";

/** One alert in the Alertmanager webhook v4 shape. */
export interface AmAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/**
 * What a delivery sends, independent of the channel: the Alertmanager webhook v4 fields plus
 * what chat templates need (catch-up, repeat, storm, digest text). Channels render it.
 */
export interface Message {
  kind: "alerts" | "digest";
  receiver: string;
  status: "firing" | "resolved";
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AmAlert[];
  catchUp: boolean;
  repeat: boolean;
  storm: boolean;
  /**
   * The delivery id of the first message of this life of the group: later ones (updates, the
   * resolved message) are replies to it (email threads them with In-Reply-To and References).
   */
  thread?: string;
  /** Digest messages: a title and a plain text body. */
  title?: string;
  text?: string;
}

/**
 * A resolved alert says what changed ("Clean again after 3h 12m") instead of its firing text, and
 * has no next action left; the firing summary stays readable as `firingSummary`.
 */
function resolvedAnnotations(a: AlertState): Record<string, string> {
  const { nextAction: _done, summary, ...rest } = a.annotations;
  const out: Record<string, string> = {
    ...rest,
    summary: resolvedSummary(a.labels.alertname ?? "", a.startsAt, a.endsAt),
  };
  if (summary) out.firingSummary = summary;
  return out;
}

function toAm(a: AlertState, status: "firing" | "resolved", externalURL: string): AmAlert {
  return {
    status,
    labels: a.labels,
    annotations: status === "resolved" ? resolvedAnnotations(a) : a.annotations,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    generatorURL: `${externalURL.replace(/\/$/, "")}/loops/${encodeURIComponent(a.loopId)}`,
    fingerprint: a.loopId,
  };
}

/** Key/value pairs present with the same value in every map. */
export function common(maps: Record<string, string>[]): Record<string, string> {
  if (maps.length === 0) return {};
  const [first, ...rest] = maps;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first ?? {})) if (rest.every((m) => m[k] === v)) out[k] = v;
  return out;
}

/** The message for one group flush. */
export function groupMessage(group: GroupState, draft: Draft, externalURL: string): Message {
  const alerts = [
    ...draft.firing.map((a) => toAm(a, "firing", externalURL)),
    ...draft.resolved.map((a) => toAm(a, "resolved", externalURL)),
  ];
  return {
    kind: "alerts",
    receiver: group.channel,
    status: draft.status,
    groupKey: group.key,
    groupLabels: group.labels,
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL,
    alerts,
    catchUp: draft.catchUp,
    repeat: draft.repeat,
    storm: draft.storm,
  };
}
