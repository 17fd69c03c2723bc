// How `pnpm start` shows the services' logs: their JSON lines as they are (not a terminal, compose,
// tests, MIRROR_LOG_FORMAT=json), or read by pino-pretty once, in the supervisor, on a terminal.
// The services always log JSON; only the supervisor ever loads pino-pretty, and only then.

export type LogFormat = "json" | "pretty";

/** MIRROR_LOG_FORMAT, else pretty on a terminal and JSON otherwise; a string says what is wrong. */
export function logFormat(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): LogFormat | string {
  const asked = env.MIRROR_LOG_FORMAT?.trim().toLowerCase();
  if (!asked) return isTTY ? "pretty" : "json";
  if (asked === "json" || asked === "pretty") return asked;
  return `MIRROR_LOG_FORMAT must be "json" or "pretty", not "${env.MIRROR_LOG_FORMAT}"`;
}

/**
 * pino-pretty's line formatter: one record per line with its fields, the time of day, no `service`
 * (the supervisor's prefix names it already); errors with their stack on the lines below. A line
 * that is not JSON is passed on as it is.
 */
export async function prettyFormatter(): Promise<(line: string) => string> {
  // A CommonJS module: under node its exports are named; from the CLI bundle (esbuild) only `default` is.
  const mod = (await import("pino-pretty")) as Partial<typeof import("pino-pretty")> & {
    default?: typeof import("pino-pretty");
  };
  const factory = mod.prettyFactory ?? mod.default?.prettyFactory;
  if (!factory) throw new Error("pino-pretty has no prettyFactory");
  const pretty = factory({ translateTime: "SYS:HH:MM:ss.l", ignore: "service", singleLine: true });
  return (line) => {
    if (!line.startsWith("{")) return line;
    try {
      return pretty(line);
    } catch {
      return line;
    }
  };
}
