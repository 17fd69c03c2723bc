import { type MaintenanceInfo, maintenanceAdd, maintenanceEnd, maintenanceList } from "@mirror/contracts";
import { call, connectOperator } from "../operator.js";

const USAGE = `usage:
  mirror maintenance add NAME [--check C]... [--repo R]... [--kind K]... (--for 2h | --until ISO | --cron EXPR --duration D [--tz TZ]) [--by NAME]
  mirror maintenance list [--json]
  mirror maintenance end NAME
While a window is on, loops of what it matches open as maintenance (visible, not notified);
one still open when it ends is notified then. Windows of mirror.yaml (loops.maintenance) are listed too.
`;

type Parsed =
  | { cmd: "add"; req: Record<string, unknown> }
  | { cmd: "list"; json: boolean }
  | { cmd: "end"; name: string };

function parseArgs(args: string[]): Parsed | string {
  const [cmd, ...rest] = args;
  if (cmd === "list") return { cmd, json: rest.includes("--json") };
  if (cmd === "end") return rest[0] && !rest[0].startsWith("-") ? { cmd, name: rest[0] } : "end needs a window NAME";
  if (cmd !== "add") return cmd ? `unknown subcommand "${cmd}"` : "";
  const [name, ...opts] = rest;
  if (!name || name.startsWith("-")) return "add needs a window NAME";
  const match: Record<string, string[]> = {};
  const req: Record<string, unknown> = { name, match };
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i] as string;
    const value = () => {
      const v = opts[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === "--check" || a === "--repo" || a === "--kind") (match[a.slice(2)] ??= []).push(value());
      else if (a === "--for" || a === "--until" || a === "--cron" || a === "--duration" || a === "--tz" || a === "--by")
        req[a.slice(2)] = value();
      else return `unknown option ${a}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (Object.keys(match).length === 0) return "add needs at least one --check, --repo or --kind";
  return { cmd, req };
}

function describe(w: MaintenanceInfo): string {
  const what = Object.entries(w.match)
    .map(([k, v]) => `${k}=${(v as string[]).join(",")}`)
    .join(" ");
  const when = w.cron
    ? `cron "${w.cron}" for ${Math.round((w.duration ?? 0) / 60_000)}m${w.tz ? ` (${w.tz})` : ""}`
    : `${w.start} .. ${w.end}`;
  const state = w.active ? `on until ${w.activeUntil}` : "off";
  return `${w.name}  ${state}  ${when}  ${what}  [${w.source}${w.createdBy ? `, by ${w.createdBy}` : ""}]`;
}

/** `mirror maintenance add|list|end`: the loop-detector's maintenance endpoints over NATS. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    process.stderr.write(parsed ? `mirror maintenance: ${parsed}\n${USAGE}` : USAGE);
    return parsed ? 2 : 0;
  }
  const bus = await connectOperator("maintenance", env);
  if (typeof bus === "number") return bus;
  try {
    if (parsed.cmd === "add") {
      const r = await call(bus, maintenanceAdd, parsed.req, "loop-detector");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`maintenance: ${describe(r.window)}\n`);
    } else if (parsed.cmd === "end") {
      const r = await call(bus, maintenanceEnd, { name: parsed.name }, "loop-detector");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`ended: ${r.window.name}\n`);
    } else {
      const r = await call(bus, maintenanceList, {}, "loop-detector");
      if (typeof r === "string") return fail(r);
      if (parsed.json) process.stdout.write(`${JSON.stringify(r.windows)}\n`);
      else
        process.stdout.write(r.windows.length ? `${r.windows.map(describe).join("\n")}\n` : "no maintenance windows\n");
    }
    return 0;
  } finally {
    await bus.close(300);
  }
}

function fail(message: string): number {
  process.stderr.write(`mirror maintenance: ${message}\n`);
  return 1;
}
