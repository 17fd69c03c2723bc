import type { AskReply, AskRequest, ServiceStatus } from "@mirror/contracts";
import { clean } from "./evidence.js";
import { loopLines, severityCounts } from "./digest.js";
import type { DescribeContext } from "./repo-kinds.js";
import { ADAPTER, MODEL } from "./triage.js";
import { age, plural } from "./words.js";

const ASK_MAX_LINES = 15;

/** What the question is about, by its words; the rules cannot reason, only pick what to list. */
function topic(question: string): "services" | "repos" | "all" {
  const q = question.toLowerCase();
  const services =
    /\b(services?|up|down|running|alive|servers?|checks?|heartbeats?|backups?|certs?|certificates?)\b/.test(q);
  const repos =
    /\b(repos?|repository|repositories|git|commits?|push(ed)?|branch(es)?|stash(es)?|dirty|uncommitted|merge|rebase)\b/.test(
      q,
    );
  if (services && !repos) return "services";
  if (repos && !services) return "repos";
  return "all";
}

function serviceLines(services: ServiceStatus[], now: number): string[] {
  return services
    .filter((s) => s.state !== "up")
    .map(
      (s) =>
        `- ${clean(s.name, 80)} is ${s.state} for ${age(now - Date.parse(s.since))}${s.reason ? `: ${clean(s.reason, 160)}` : ""}`,
    );
}

/**
 * The offline answer: what is not up, then the open loops, most urgent first, filtered by the
 * question's topic. It says plainly that it lists rather than reasons.
 */
export function ask(req: AskRequest, ctx: DescribeContext): AskReply {
  const about = topic(req.question);
  const loops = loopLines(
    req.loops.filter((l) => about === "all" || (about === "repos") === (l.entity.type === "repo")),
    ctx,
  );
  const down = about === "repos" ? [] : serviceLines(req.services, ctx.now);
  const parts: string[] = [];
  if (down.length) parts.push(`Services not up (${down.length} of ${req.services.length}):\n${down.join("\n")}`);
  else if (about !== "repos" && req.services.length)
    parts.push(`All ${plural(req.services.length, "tracked service")} are up.`);
  if (loops.length) {
    const shown = loops.slice(0, ASK_MAX_LINES).map((l) => `- ${l.text}`);
    if (loops.length > shown.length) shown.push(`… and ${loops.length - shown.length} more (pnpm mirror loops).`);
    parts.push(`${plural(loops.length, "open loop")} (${severityCounts(loops)}):\n${shown.join("\n")}`);
  } else
    parts.push(about === "services" ? "No open loops about services." : "No open loops: nothing needs you right now.");
  parts.push(
    "(Answered by the offline rules adapter: it lists what the mesh knows; start a model adapter for answers in prose.)",
  );
  return { adapter: ADAPTER, model: MODEL, answer: parts.join("\n\n") };
}
