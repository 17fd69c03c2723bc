import { type DigestReply, type DigestRequest, type Loop, SEVERITY_RANK, type Severity } from "@mirror/contracts";
import type { DescribeContext } from "./repo-kinds.js";
import { ADAPTER, MODEL, triage } from "./triage.js";
import { plural } from "./words.js";

/** Lines a digest lists before it says "and N more": a digest is read on a phone. */
export const DIGEST_MAX_LINES = 40;

interface Line {
  severity: Severity;
  text: string;
  openedAt: string;
}

/** One line per loop, most urgent first (then oldest first), from the same templates as triage. */
export function loopLines(loops: Loop[], ctx: DescribeContext): Line[] {
  return loops
    .filter((l) => l.status !== "closed")
    .map((l) => {
      const t = triage(l, ctx);
      const ack = l.status === "open" ? "" : ` (${l.status})`;
      return {
        severity: t.severity,
        text: `[${t.severity}] ${t.summary}${ack}. ${t.nextAction}`,
        openedAt: l.openedAt,
      };
    })
    .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.openedAt.localeCompare(b.openedAt));
}

/** "2 high, 1 low": the count per severity, most severe first. */
export function severityCounts(lines: Line[]): string {
  const counts = new Map<Severity, number>();
  for (const l of lines) counts.set(l.severity, (counts.get(l.severity) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => SEVERITY_RANK[b] - SEVERITY_RANK[a])
    .map(([s, n]) => `${n} ${s}`)
    .join(", ");
}

/** The digest without a model: a count in the title, then the loops, most urgent first. */
export function digest(req: DigestRequest, ctx: DescribeContext): DigestReply {
  const lines = loopLines(req.loops, ctx);
  const period = req.period ? ` (${req.period.slice(0, 100)})` : "";
  if (lines.length === 0)
    return {
      adapter: ADAPTER,
      model: MODEL,
      title: `No open loops${period}`,
      text: "Nothing needs you: every loop is closed.",
    };
  const shown = lines.slice(0, DIGEST_MAX_LINES).map((l) => `- ${l.text}`);
  if (lines.length > shown.length) shown.push(`… and ${lines.length - shown.length} more.`);
  return {
    adapter: ADAPTER,
    model: MODEL,
    title: `${plural(lines.length, "open loop")}: ${severityCounts(lines)}${period}`,
    text: shown.join("\n"),
  };
}
