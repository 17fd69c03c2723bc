import { resolve } from "node:path";
import { parseDuration, scanNow } from "@mirror/contracts";
import { connectOperator } from "../operator.js";

const USAGE = "usage: mirror scan [PATH] [--timeout 60s] [--json]\n  scans every repo under scanner.roots now (or only the repo at PATH) and prints a summary\n";

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
  const nc = await connectOperator("scan", env);
  if (typeof nc === "number") return nc;
  try {
    const request = scanNow.request.parse(parsed.path ? { path: parsed.path } : {});
    const msg = await nc.request(scanNow.subject, JSON.stringify(request), { timeout: parsed.timeoutMs }).catch((err: Error) => err);
    if (msg instanceof Error) {
      const why = /no responders/i.test(msg.message) ? "no scanner is running (start it with `pnpm start`)" : msg.message;
      process.stderr.write(`mirror scan: ${why}\n`);
      return 1;
    }
    const remoteError = msg.headers?.get("Nats-Service-Error");
    if (remoteError) {
      process.stderr.write(`mirror scan: ${remoteError}\n`);
      return 1;
    }
    const reply = scanNow.reply.safeParse(msg.json());
    if (!reply.success) {
      process.stderr.write("mirror scan: the scanner sent a reply this CLI does not understand\n");
      return 1;
    }
    const r = reply.data;
    process.stdout.write(parsed.json ? `${JSON.stringify(r)}\n` : `scanned ${r.repos} repo${r.repos === 1 ? "" : "s"}, published ${r.published} snapshot${r.published === 1 ? "" : "s"}\n`);
    return 0;
  } finally {
    await nc.close();
  }
}
