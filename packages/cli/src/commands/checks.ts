import { type CheckSummary, checksList, formatDuration, hasErrorCode } from "@mirror/contracts";
import { loadConfig } from "@mirror/kit";
import { parseFlags, usage, withLoopsBus } from "./loops.js";

const USAGE = `usage: mirror checks [--base-url URL] [--json]
  lists every check the service-tracker watches with its state; heartbeats with their ping URL
  (GET or POST <url>, <url>/start, <url>/fail records a check-in with no token: keep it secret).
  --base-url  how jobs reach the tracker (default http://127.0.0.1:<tracker.port>)
`;

/** `mirror checks`: the tracker's `checks.list` endpoint over the bus, as a table or JSON. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const opts = parseFlags(args, ["--base-url"], ["--json"]);
  if (typeof opts === "string" || opts.rest.length)
    return usage("checks", USAGE, typeof opts === "string" ? opts : `unexpected argument ${opts.rest[0]}`);
  return withLoopsBus("checks", env, async (bus) => {
    const base = (opts.values["--base-url"] ?? `http://127.0.0.1:${loadConfig(env).config.tracker.port}`).replace(
      /\/+$/,
      "",
    );
    let checks: CheckSummary[];
    try {
      ({ checks } = await bus.request(checksList, {}, { timeout: 10_000 }));
    } catch (err) {
      const timedOut = hasErrorCode(err, "MIRROR_ERR_TIMEOUT");
      if (!timedOut && !hasErrorCode(err, "MIRROR_ERR_NO_RESPONDERS")) throw err;
      process.stderr.write(
        `mirror checks: ${timedOut ? "the service-tracker did not answer in time" : "no service-tracker is running (start it with `pnpm start`)"}\n`,
      );
      return 1;
    }
    const withUrls = checks.map((c) => ({ ...c, ...(c.pingKey ? { pingUrl: `${base}/ping/${c.pingKey}` } : {}) }));
    if (opts.flags.has("--json")) process.stdout.write(`${JSON.stringify({ checks: withUrls }, null, 2)}\n`);
    else
      process.stdout.write(
        withUrls.length
          ? checksTable(withUrls, Date.now())
          : "no checks (add some under tracker.checks in mirror.yaml)\n",
      );
    return 0;
  });
}

/** Columns: name, kind, state, for how long, ping URL (heartbeats) or why it is not up. */
export function checksTable(checks: (CheckSummary & { pingUrl?: string })[], now: number): string {
  const rows = checks.map((c) => [
    c.name,
    c.kind,
    c.state,
    formatDuration(now - Date.parse(c.since)),
    c.pingUrl ?? c.reason?.replace(/\s+/g, " ").slice(0, 80) ?? "",
  ]);
  const head = ["NAME", "KIND", "STATE", "FOR", "PING URL / REASON"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return `${[head, ...rows].map(line).join("\n")}\n`;
}
