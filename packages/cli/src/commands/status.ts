import type { Bus } from "@mirror/bus";
import { type MirrorConfig, parseDuration, scanRepos } from "@mirror/contracts";
import { ConfigError, loadConfig, ownUrlWithOffset } from "@mirror/kit";
import { call, connectOperator } from "../operator.js";
import { parseFlags, usage } from "./loops.js";

const USAGE = `usage: mirror status [--wait 30s] [--json]
  what the mesh has: the console's URL, the repositories the scanner found (asked over the bus),
  the checks and notification channels mirror.yaml configures
  --wait  how long to wait for the scanner's first scan when it has not finished one yet
`;

/** What `mirror status --json` prints (and `pnpm start`'s summary reads). */
export interface MeshStatus {
  consoleUrl: string;
  /** Repositories the scanner found at its last scan; null when the scanner could not say. */
  repositories: number | null;
  /** Why `repositories` is null. */
  repositoriesProblem?: string;
  roots: number;
  checks: number;
  channels: number;
}

/** `mirror status`: the console URL and what is configured from mirror.yaml, the repositories from the scanner's `scan.repos` endpoint. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const opts = parseFlags(args, ["--wait"], ["--json"]);
  if (typeof opts === "string" || opts.rest.length)
    return usage("status", USAGE, typeof opts === "string" ? opts : `unexpected argument ${opts.rest[0]}`);
  let waitMs = 0;
  try {
    waitMs = parseDuration(opts.values["--wait"] ?? "0s");
  } catch (err) {
    return usage("status", USAGE, (err as Error).message);
  }
  let config: MirrorConfig;
  try {
    config = loadConfig(env).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`mirror status: ${err.message}\n`);
    return 2;
  }
  const bus = await connectOperator("status", env);
  const found =
    typeof bus === "number"
      ? { problem: "the bus cannot be reached" }
      : await repositories(bus, waitMs).finally(() => bus.close(300));
  const status: MeshStatus = {
    consoleUrl: ownUrlWithOffset(config.console.publicUrl, config.console.port, env),
    repositories: "count" in found ? found.count : null,
    ...("problem" in found ? { repositoriesProblem: found.problem } : {}),
    roots: config.scanner.roots.length,
    checks: config.tracker.checks.length,
    channels: config.notifier.channels.length,
  };
  process.stdout.write(opts.flags.has("--json") ? `${JSON.stringify(status)}\n` : human(status));
  return 0;
}

/** The scanner's count of repositories, once it has finished a scan (waiting up to `waitMs` for the first). */
async function repositories(bus: Bus, waitMs: number): Promise<{ count: number } | { problem: string }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = await call(bus, scanRepos, {}, "scanner", 5_000);
    if (typeof r === "string") return { problem: r };
    if (r.lastScanAt !== null || Date.now() >= deadline) return { count: r.repos.length };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function human(s: MeshStatus): string {
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
  return [
    `console       ${s.consoleUrl}`,
    `repositories  ${s.repositories === null ? `unknown: ${s.repositoriesProblem}` : `${s.repositories} found under ${plural(s.roots, "root")}`}`,
    `checks        ${s.checks} configured`,
    `channels      ${s.channels ? `${s.channels} configured` : "none configured: nothing will reach you (add one under notifier.channels in mirror.yaml)"}`,
    "",
  ].join("\n");
}
