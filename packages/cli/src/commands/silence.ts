import { type Silence, silenceAdd, silenceExpire, silenceList } from "@mirror/contracts";
import { call, connectOperator } from "../operator.js";

const USAGE = `usage:
  mirror silence add MATCHER... (--for 2h | --until 2026-01-02T08:00:00Z) [--comment TEXT] [--by NAME]
  mirror silence list [--all] [--json]
  mirror silence expire ID
matchers: label=value, label!=value, label=~regex, label!~regex (labels: alertname, severity, repo, service, loop_id)
`;

type Parsed =
  | { cmd: "add"; req: Record<string, unknown> }
  | { cmd: "list"; all: boolean; json: boolean }
  | { cmd: "expire"; id: string };

function parseArgs(args: string[]): Parsed | string {
  const [cmd, ...rest] = args;
  if (cmd === "list") return { cmd, all: rest.includes("--all"), json: rest.includes("--json") };
  if (cmd === "expire") return rest[0] && !rest[0].startsWith("-") ? { cmd, id: rest[0] } : "expire needs a silence ID";
  if (cmd !== "add") return cmd ? `unknown subcommand "${cmd}"` : "";
  const req: Record<string, unknown> = { matchers: [] as string[] };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    const value = () => rest[++i] ?? "";
    if (a === "--for") req.for = value();
    else if (a === "--until") req.until = value();
    else if (a === "--comment") req.comment = value();
    else if (a === "--by") req.by = value();
    else if (a.startsWith("-")) return `unknown option ${a}`;
    else (req.matchers as string[]).push(a);
  }
  return { cmd, req };
}

function describe(s: Silence): string {
  return `${s.id}  until ${s.until}  ${s.matchers.join(" ")}${s.comment ? `  # ${s.comment}` : ""}  (by ${s.createdBy})`;
}

/** `mirror silence add|list|expire`: talks to the notifier's silence endpoints over NATS. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    process.stderr.write(parsed ? `mirror silence: ${parsed}\n${USAGE}` : USAGE);
    return parsed ? 2 : 0;
  }
  const bus = await connectOperator("silence", env);
  if (typeof bus === "number") return bus;
  try {
    if (parsed.cmd === "add") {
      const r = await call(bus, silenceAdd, parsed.req, "notifier");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`silenced: ${describe(r.silence)}\n`);
    } else if (parsed.cmd === "expire") {
      const r = await call(bus, silenceExpire, { id: parsed.id }, "notifier");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`expired: ${describe(r.silence)}\n`);
    } else {
      const r = await call(bus, silenceList, { all: parsed.all }, "notifier");
      if (typeof r === "string") return fail(r);
      if (parsed.json) process.stdout.write(`${JSON.stringify(r.silences)}\n`);
      else process.stdout.write(r.silences.length ? `${r.silences.map(describe).join("\n")}\n` : "no silences\n");
    }
    return 0;
  } finally {
    await bus.close(300);
  }
}

function fail(message: string): number {
  process.stderr.write(`mirror silence: ${message}\n`);
  return 1;
}
