import { resolve } from "node:path";
import { parseDuration, scanNow } from "@mirror/contracts";
import { call, connectOperator } from "../operator.js";

const USAGE =
  "usage: mirror scan [PATH] [--timeout 60s] [--json]\n  scans every repo under scanner.roots now (or only the repo at PATH) and prints a summary\n";

interface Args {
  path?: string;
  timeoutMs: number;
  json: boolean;
}

function parseArgs(args: string[]): Args | string {
  const out: Args = { timeoutMs: 120_000, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--json") out.json = true;
    else if (a === "--timeout") {
      try {
        out.timeoutMs = parseDuration(args[++i] ?? "");
      } catch (err) {
        return (err as Error).message;
      }
    } else if (a === "-h" || a === "--help") return "";
    else if (a.startsWith("-") && a !== "-") return `unknown option ${a}`;
    else if (out.path === undefined) out.path = resolve(a);
    else return "only one PATH may be given";
  }
  return out;
}

/** `mirror scan [PATH]`: asks the scanner (over its `scan.now` endpoint) to scan now. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    process.stderr.write(parsed ? `mirror scan: ${parsed}\n${USAGE}` : USAGE);
    return parsed ? 2 : 0;
  }
  const bus = await connectOperator("scan", env);
  if (typeof bus === "number") return bus;
  try {
    const r = await call(bus, scanNow, parsed.path ? { path: parsed.path } : {}, "scanner", parsed.timeoutMs);
    if (typeof r === "string") {
      process.stderr.write(`mirror scan: ${r}\n`);
      return 1;
    }
    process.stdout.write(
      parsed.json
        ? `${JSON.stringify(r)}\n`
        : `scanned ${r.repos} repo${r.repos === 1 ? "" : "s"}, published ${r.published} snapshot${r.published === 1 ? "" : "s"}\n`,
    );
    return 0;
  } finally {
    await bus.close(300);
  }
}
