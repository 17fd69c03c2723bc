#!/usr/bin/env node
// The `mirror` command: dispatches `mirror <command> ...` to commands/<command>.ts.
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { cliSource as here } from "./paths.js";

function available(): string[] {
  return readdirSync(join(here, "commands"))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`usage: mirror <command> [args]\ncommands: ${available().join(", ")}\n`);
    return command ? 0 : 1;
  }
  if (!/^[a-z][a-z-]*$/.test(command) || !existsSync(join(here, "commands", `${command}.ts`))) {
    process.stderr.write(`mirror: unknown command "${command}"; commands: ${available().join(", ")}\n`);
    return 1;
  }
  // The identity folder `pnpm start` makes at first start, found by every command (used only if it exists).
  process.env.MIRROR_IDENTITY_DEFAULT_DIR ??= join(
    resolve(process.env.MIRROR_DATA_DIR ?? join(process.cwd(), ".mirror")),
    "identity",
  );
  const mod = (await import(`./commands/${command}.ts`)) as {
    run(args: string[], env: NodeJS.ProcessEnv): Promise<number>;
  };
  return mod.run(args, process.env);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: a command is done when it says so, whatever handles are still open.
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`mirror: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
