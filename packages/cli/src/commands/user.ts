import {
  type ConsoleUser,
  consoleUsersAdd,
  consoleUsersList,
  consoleUsersPasswd,
  consoleUsersRemove,
} from "@mirror/contracts";
import { call, connectOperator } from "../operator.js";

const USAGE = `usage:
  mirror user add NAME --role viewer|operator|admin --password-stdin
  mirror user passwd NAME --password-stdin
  mirror user remove NAME
  mirror user list [--json]
the password is read from the first line of standard input (printf 'PASSWORD\\n' | mirror user add ...)
`;

type Parsed =
  | { cmd: "add"; name: string; role: string }
  | { cmd: "passwd" | "remove"; name: string }
  | { cmd: "list"; json: boolean };

function parseArgs(args: string[]): Parsed | string {
  const [cmd, ...rest] = args;
  if (cmd === "list") return { cmd, json: rest.includes("--json") };
  if (cmd !== "add" && cmd !== "passwd" && cmd !== "remove")
    return cmd && cmd !== "-h" && cmd !== "--help" ? `unknown subcommand "${cmd}"` : "";
  let name: string | undefined;
  let role: string | undefined;
  let stdin = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "--role") role = rest[++i];
    else if (a === "--password-stdin") stdin = true;
    else if (a.startsWith("-")) return `unknown option ${a}`;
    else if (name === undefined) name = a;
    else return "only one NAME may be given";
  }
  if (!name) return `${cmd} needs a user NAME`;
  if (cmd === "remove") return { cmd, name };
  // A password on the command line would be in the shell history and `ps`: only standard input.
  if (!stdin) return `${cmd} reads the password from standard input: add --password-stdin`;
  if (cmd === "passwd") return { cmd, name };
  if (!role) return "add needs --role viewer|operator|admin";
  return { cmd, name, role };
}

/** The first line of standard input, without its line ending. */
async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
}

const describe = (u: ConsoleUser) => `${u.name}  ${u.role}  since ${u.createdAt}`;

/** `mirror user add|passwd|remove|list`: the console's accounts, through its `console.users.*` endpoints. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    process.stderr.write(parsed ? `mirror user: ${parsed}\n${USAGE}` : USAGE);
    return parsed ? 2 : 0;
  }
  const password = parsed.cmd === "add" || parsed.cmd === "passwd" ? await readPassword() : "";
  if ((parsed.cmd === "add" || parsed.cmd === "passwd") && !password) return fail("no password on standard input");
  const bus = await connectOperator("user", env);
  if (typeof bus === "number") return bus;
  try {
    if (parsed.cmd === "add") {
      const r = await call(bus, consoleUsersAdd, { name: parsed.name, role: parsed.role, password }, "console");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`added ${describe(r.user)}\n`);
    } else if (parsed.cmd === "passwd") {
      const r = await call(bus, consoleUsersPasswd, { name: parsed.name, password }, "console");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`password changed for ${r.user.name}; their sessions are ended\n`);
    } else if (parsed.cmd === "remove") {
      const r = await call(bus, consoleUsersRemove, { name: parsed.name }, "console");
      if (typeof r === "string") return fail(r);
      process.stdout.write(`removed ${r.user.name}\n`);
    } else if (parsed.cmd === "list") {
      const r = await call(bus, consoleUsersList, {}, "console");
      if (typeof r === "string") return fail(r);
      if (parsed.json) process.stdout.write(`${JSON.stringify(r.users)}\n`);
      else process.stdout.write(r.users.length ? `${r.users.map(describe).join("\n")}\n` : "no users\n");
    }
    return 0;
  } finally {
    await bus.close(300);
  }
}

function fail(message: string): number {
  process.stderr.write(`mirror user: ${message}\n`);
  return 1;
}
