import { SEVERITY_RANK, type Severity } from "@mirror/contracts";
import type { AmAlert, Message } from "./message.js";
import { render } from "./template.js";

/** In a storm, chat messages list this many loops and count the rest. */
export const STORM_SHOWN = 10;

export const DEFAULT_TITLE =
  "{{#if digest}}{{title}}{{else}}{{#if catchUp}}[catch-up] {{/if}}{{#if repeat}}[reminder] {{/if}}[{{STATUS}}{{#if firingCount}}:{{firingCount}}{{/if}}] {{group}}{{/if}}";

export const DEFAULT_BODY = `{{#if digest}}{{text}}{{else}}{{#if catchUp}}Held back during quiet hours:
{{/if}}{{#if storm}}{{count}} loops at once ({{firingCount}} firing, {{resolvedCount}} resolved); the first {{shownCount}}:
{{/if}}{{#each shown}}{{#if resolved}}✅ resolved{{else}}🔴 {{severity}}{{/if}} · {{name}} · {{target}}
{{summary}}{{#if nextAction}}
{{nextAction}}{{/if}}
{{/each}}{{#if more}}…and {{more}} more.{{/if}}{{/if}}`;

function alertView(a: AmAlert) {
  return {
    ...a,
    name: a.labels.alertname ?? "",
    severity: a.labels.severity ?? "",
    target: a.labels.repo ?? a.labels.service ?? "",
    summary: a.annotations.summary ?? "",
    nextAction: a.annotations.nextAction ?? "",
    resolved: a.status === "resolved",
    firing: a.status === "firing",
    url: a.generatorURL,
  };
}

/** The fields a template sees: the message, counts, and each alert with friendly names. */
export function messageView(msg: Message) {
  const alerts = msg.alerts.map(alertView);
  const shown = msg.storm ? alerts.slice(0, STORM_SHOWN) : alerts;
  const firingCount = alerts.filter((a) => a.firing).length;
  return {
    ...msg,
    title: msg.title ?? "",
    text: msg.text ?? "",
    digest: msg.kind === "digest",
    STATUS: msg.status.toUpperCase(),
    group: Object.values(msg.groupLabels).join(" ") || msg.receiver,
    count: alerts.length,
    firingCount,
    resolvedCount: alerts.length - firingCount,
    alerts,
    shown,
    shownCount: shown.length,
    more: alerts.length - shown.length,
  };
}

/** Title and body of a message for a chat-like channel, with the channel's template override if any. */
export function renderText(
  msg: Message,
  template: { title?: string; body?: string } | undefined,
  missing: (path: string) => void,
): { title: string; body: string } {
  const view = messageView(msg);
  return {
    title: render(template?.title ?? DEFAULT_TITLE, view, missing).trim(),
    body: render(template?.body ?? DEFAULT_BODY, view, missing).trim(),
  };
}

/** The highest severity among firing alerts (`info` when only resolutions are sent). */
export function topSeverity(msg: Message): Severity {
  let top: Severity = "info";
  for (const a of msg.alerts) {
    const s = a.labels.severity as Severity | undefined;
    if (a.status === "firing" && s && SEVERITY_RANK[s] !== undefined && SEVERITY_RANK[s] > SEVERITY_RANK[top]) top = s;
  }
  return top;
}

/** Cuts text to `max` characters, marking the cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** The link a click on the message opens: the only loop's page, else the console. */
export function clickUrl(msg: Message): string {
  return msg.alerts.length === 1 ? (msg.alerts[0]?.generatorURL ?? msg.externalURL) : msg.externalURL;
}
