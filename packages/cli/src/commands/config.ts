import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, configPath, parseConfig } from "@mirror/kit";

const USAGE = `usage: mirror config check [FILE]
Validates FILE (default: MIRROR_CONFIG, else ./mirror.yaml) the way a service does before a
reload: the whole file, every problem with its key path. Touches nothing that runs; exit 0 when
valid, 2 when not.
`;

/** `mirror config check [FILE]`: the config schema's verdict on a file, without the running mesh. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [cmd, fileArg, ...rest] = args;
  if (cmd !== "check" || rest.length > 0) {
    process.stderr.write(cmd && cmd !== "check" ? `mirror config: unknown subcommand "${cmd}"\n${USAGE}` : USAGE);
    return cmd ? 2 : 0;
  }
  const file = fileArg ? resolve(fileArg) : configPath(env);
  if (!file) {
    process.stderr.write("mirror config check: no FILE given, no MIRROR_CONFIG and no ./mirror.yaml\n");
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    process.stderr.write(
      `mirror config check: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})\n`,
    );
    return 2;
  }
  try {
    const config = parseConfig(text, env, file);
    process.stdout.write(
      `${file}: valid (${config.tracker.checks.length} checks, ${config.scanner.roots.length} roots, ${config.notifier.channels.length} channels, ${config.loops.maintenance.length} maintenance windows)\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${file}: invalid\n${err.problems.map((p) => `  - ${p}`).join("\n")}\n`);
    return 2;
  }
}
