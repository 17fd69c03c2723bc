import { type ConsoleToken, consoleTokensCreate, consoleTokensList, consoleTokensRevoke } from "@mirror/contracts";
import { call, connectOperator } from "../operator.js";

const USAGE = `usage:
  mirror token create --user NAME --name LABEL   prints a new API token once (store it now)
  mirror token list --user NAME [--json]
  mirror token revoke --user NAME --name LABEL
a token acts as its user on the console's /api/: Authorization: Bearer <token>
`;

type Parsed = { cmd: "create" | "revoke"; user: string; name: string } | { cmd: "list"; user: string; json: boolean };

function parseArgs(args: string[]): Parsed | string {
  const [cmd, ...rest] = args;
  if (cmd !== "create" && cmd !== "list" && cmd !== "revoke")
    return cmd && cmd !== "-h" && cmd !== "--help" ? `unknown subcommand "${cmd}"` : "";
  const opts: Record<string, string> = {};
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "--user" || a === "--name") opts[a.slice(2)] = rest[++i] ?? "";
    else if (a === "--json") json = true;
    else return `unknown argument ${a}`;
  }
  if (!opts.user) return `${cmd} needs --user NAME`;
  if (cmd === "list") return { cmd, user: opts.user, json };
  if (!opts.name) return `${cmd} needs --name LABEL`;
  return { cmd, user: opts.user, name: opts.name };
}

const describe = (t: ConsoleToken) => `${t.name}  ${t.user}  since ${t.createdAt}`;

/** `mirror token create|list|revoke`: per-user API tokens for the console, through its `console.tokens.*` endpoints. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    process.stderr.write(parsed ? `mirror token: ${parsed}\n${USAGE}` : USAGE);
    return parsed ? 2 : 0;
  }
  const bus = await connectOperator("token", env);
  if (typeof bus === "number") return bus;
  try {
    if (parsed.cmd === "create") {
      const r = await call(bus, consoleTokensCreate, { user: parsed.user, name: parsed.name }, "console");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`${r.token}\n`);
      process.stderr.write(`token ${r.info.name} for ${r.info.user}: shown once, only its hash is kept\n`);
    } else if (parsed.cmd === "revoke") {
      const r = await call(bus, consoleTokensRevoke, { user: parsed.user, name: parsed.name }, "console");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`revoked ${describe(r.info)}\n`);
    } else if (parsed.cmd === "list") {
      const r = await call(bus, consoleTokensList, { user: parsed.user }, "console");
      if (typeof r === "string") return fail(r);
      if (parsed.json) process.stdout.write(`${JSON.stringify(r.tokens)}\n`);
      else process.stdout.write(r.tokens.length ? `${r.tokens.map(describe).join("\n")}\n` : "no tokens\n");
    }
    return 0;
  } finally {
    await bus.close(300);
  }
}

function fail(message: string): number {
  process.stderr.write(`mirror token: ${message}\n`);
  return 1;
}
