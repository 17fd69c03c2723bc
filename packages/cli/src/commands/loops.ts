import type { Bus } from "@mirror/bus";
import {
  type EndpointContract,
  formatDuration,
  hasErrorCode,
  type Loop,
  type LoopCommand,
  LoopStatus,
  loopsList,
  SEVERITY_RANK,
} from "@mirror/contracts";
import { ConfigError, connectBus, createLogger, loadConfig } from "@mirror/kit";
import { hostPort, reachable } from "../embedded.js";

const USAGE = `usage: mirror loops [--status S[,S...]] [--kind K] [--severity S] [--all] [--json]
  lists the loops the loop-detector holds: by default every loop that is not closed
  (open, acknowledged, snoozed, suppressed, maintenance), worst first; --all includes closed ones
`;

const ACTIVE = ["open", "acknowledged", "snoozed", "suppressed", "maintenance"] as const;

/** `mirror loops`: the loops from the loop-detector's `loops.list` endpoint, as a table or JSON. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const opts = parseFlags(args, ["--status", "--kind", "--severity"], ["--all", "--json"]);
  if (typeof opts === "string" || opts.rest.length)
    return usage("loops", USAGE, typeof opts === "string" ? opts : `unexpected argument ${opts.rest[0]}`);
  const status = opts.values["--status"]?.split(",").filter(Boolean);
  const bad = status?.find((s) => !LoopStatus.safeParse(s).success);
  if (bad) return usage("loops", USAGE, `unknown status "${bad}"; one of ${LoopStatus.options.join(", ")}`);
  return withLoopsBus("loops", env, async (bus) => {
    const filter = {
      status: status ?? (opts.flags.has("--all") ? undefined : [...ACTIVE]),
      kind: opts.values["--kind"],
      severity: opts.values["--severity"],
    };
    const { loops } = await bus.request(loopsList, filter, { timeout: 10_000 });
    if (opts.flags.has("--json")) process.stdout.write(`${JSON.stringify({ loops }, null, 2)}\n`);
    else process.stdout.write(loops.length ? table(loops, Date.now()) : "no loops\n");
    return 0;
  });
}

export interface Flags {
  values: Record<string, string | undefined>;
  flags: Set<string>;
  rest: string[];
}

/** Parses `--name value` options and `--flag` switches; anything else is positional. A string is an error. */
export function parseFlags(args: string[], withValue: string[], switches: string[]): Flags | string {
  const out: Flags = { values: {}, flags: new Set(), rest: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "-h" || a === "--help") return "";
    const [name, inline] =
      a.startsWith("--") && a.includes("=")
        ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
        : [a, undefined];
    if (withValue.includes(name)) {
      const v = inline ?? args[++i];
      if (v === undefined) return `${name} needs a value`;
      out.values[name] = v;
    } else if (switches.includes(a)) out.flags.add(a);
    else if (a.startsWith("--")) return `unknown option ${a}`;
    else out.rest.push(a);
  }
  return out;
}

export function usage(cmd: string, text: string, problem: string): number {
  process.stderr.write(problem ? `mirror ${cmd}: ${problem}\n${text}` : text);
  return problem ? 2 : 0;
}

/** Connects as the owner's console identity, runs `f`, and turns bus errors into one clear line. */
export async function withLoopsBus(
  cmd: string,
  env: NodeJS.ProcessEnv,
  f: (bus: Bus) => Promise<number>,
): Promise<number> {
  const say = (m: string) => process.stderr.write(`mirror ${cmd}: ${m}\n`);
  let config: ReturnType<typeof loadConfig>["config"];
  try {
    config = loadConfig(env).config;
  } catch (err) {
    if (err instanceof ConfigError) {
      say(err.message);
      return 2;
    }
    throw err;
  }
  const where = config.bus.url.replace(/\/\/[^@/]*@/, "//[redacted]@");
  const { host, port } = hostPort(config.bus.url.split(",")[0] as string, 4222);
  if (!(await reachable(host, port, 3_000))) {
    say(`cannot reach NATS at ${where}: start the mesh with \`pnpm start\``);
    return 1;
  }
  const bus = await connectBus("operator", {
    config,
    env,
    log: createLogger(`mirror-${cmd}`, undefined, "silent"),
  }).catch((err: Error) => err);
  if (bus instanceof Error) {
    say(`cannot connect to NATS at ${where}: ${bus.message}`);
    return 1;
  }
  try {
    return await f(bus);
  } catch (err) {
    say(explain(err as Error & { code?: string }));
    return 1;
  } finally {
    // Only requests were made: nothing to drain, and a long close timer would hold the process open.
    await bus.close(300);
  }
}

function explain(err: Error & { code?: string }): string {
  if (hasErrorCode(err, "MIRROR_ERR_NO_RESPONDERS")) return "no loop-detector is running (start it with `pnpm start`)";
  if (hasErrorCode(err, "MIRROR_ERR_TIMEOUT")) return "the loop-detector did not answer in time";
  const remote = /answered \d+: (.*)$/s.exec(err.message);
  return remote?.[1] ?? err.message;
}

/** The full id of a loop given as its id or a unique prefix of it (as `git` takes short hashes). */
export async function resolveLoopId(bus: Bus, given: string): Promise<string> {
  if (/^[0-9a-f]{16}$/.test(given)) return given;
  const { loops } = await bus.request(loopsList, {}, { timeout: 10_000 });
  const hits = loops.filter((l) => l.id.startsWith(given));
  if (hits.length === 1) return (hits[0] as Loop).id;
  throw new Error(
    hits.length
      ? `"${given}" matches ${hits.length} loops; give more of the id`
      : `no loop with id "${given}" (see \`pnpm mirror loops --all\`)`,
  );
}

/** `mirror ack|close|reopen|unack <id> [--note TEXT] [--by NAME] [--json]` over the loop-detector's endpoint. */
export async function loopCommand(
  cmd: string,
  contract: EndpointContract,
  args: string[],
  env: NodeJS.ProcessEnv,
  extra: Record<string, unknown> = {},
  extraValues: string[] = [],
): Promise<number> {
  const text = `usage: mirror ${cmd} <loop-id> ${extraValues.map((v) => `[${v} ...] `).join("")}[--note TEXT] [--by NAME] [--json]\n`;
  const opts = parseFlags(args, ["--note", "--by", ...extraValues], ["--json"]);
  if (typeof opts === "string") return usage(cmd, text, opts);
  if (opts.rest.length !== 1)
    return usage(
      cmd,
      text,
      opts.rest.length ? "give one loop id" : "which loop? give its id (see `pnpm mirror loops`)",
    );
  return withLoopsBus(cmd, env, async (bus) => {
    const loopId = await resolveLoopId(bus, opts.rest[0] as string);
    const req: LoopCommand & Record<string, unknown> = {
      loopId,
      by: opts.values["--by"] ?? env.USER ?? "operator",
      note: opts.values["--note"],
      ...extra,
    };
    for (const v of extraValues) if (opts.values[v] !== undefined) req[v.slice(2)] = opts.values[v];
    const { loop } = (await bus.request(contract, req, { timeout: 10_000 })) as { loop: Loop };
    process.stdout.write(
      opts.flags.has("--json")
        ? `${JSON.stringify({ loop }, null, 2)}\n`
        : `${loop.id.slice(0, 12)}  ${describe(loop)}\n`,
    );
    return 0;
  });
}

function describe(l: Loop): string {
  const until = l.status === "snoozed" && l.snoozedUntil ? ` until ${l.snoozedUntil}` : "";
  return `${l.status}${until}  ${l.kind}  ${l.entity.repo ?? l.entity.service ?? ""}`;
}

/** Columns: id, status, severity, kind, age, what, summary (the model's when it has triaged). */
export function table(loops: Loop[], now: number): string {
  const sorted = [...loops].sort(
    (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.openedAt.localeCompare(b.openedAt),
  );
  const rows = sorted.map((l) => [
    l.id.slice(0, 12),
    l.status,
    l.severity,
    l.kind,
    formatDuration(now - Date.parse(l.openedAt)),
    l.entity.repo ?? l.entity.service ?? "",
    clean(l.triage?.summary ?? l.summary),
  ]);
  const head = ["ID", "STATUS", "SEVERITY", "KIND", "AGE", "WHAT", "SUMMARY"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join("  ");
  return `${[line(head), ...rows.map(line)].join("\n")}\n`;
}

// Loop text comes from repos and models: no terminal escapes reach the owner's terminal.
const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 160);
