import type { Loop, TriageReply } from "@mirror/contracts";
import { clean } from "./evidence.js";
import { describeRepo, type DescribeContext, type Description } from "./repo-kinds.js";
import { certLeft, describeService } from "./service-kinds.js";
import { certSeverity, severityFor } from "./severity.js";

export const ADAPTER = "rules";
export const MODEL = "rules-v1";

/** Triage without a model: the severity table and the templates for the loop's kind. */
export function triage(loop: Loop, ctx: DescribeContext): TriageReply {
  const d = describe(loop, ctx);
  const left = loop.kind === "cert.expiring" ? certLeft(loop, ctx.now) : undefined;
  const severity =
    left !== undefined ? certSeverity(left) : severityFor(loop.kind, Math.max(0, ctx.now - d.since), loop.severity);
  return { adapter: ADAPTER, model: MODEL, severity, summary: d.summary, nextAction: d.nextAction };
}

/** The description of any loop: its kind's template, or a generic one for kinds added later. */
export function describe(loop: Loop, ctx: DescribeContext): Description {
  const known = describeRepo(loop, ctx) ?? describeService(loop, ctx);
  if (known) return known;
  const subject = clean(loop.entity.repo ?? loop.entity.service ?? loop.id, 200);
  const summary = loop.summary ? clean(loop.summary, 300) : `${clean(loop.kind, 60)} on ${subject}`;
  return {
    summary,
    nextAction: `Look at ${subject} and close the loop once it is handled.`,
    since: Date.parse(loop.openedAt),
  };
}
