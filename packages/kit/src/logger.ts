import { pino, type DestinationStream, type Logger } from "pino";
import { secretScrubber } from "./secrets.js";
import { traceFields } from "./tracing.js";

/** Paths that may hold secrets; pino replaces them before a line is written. */
export const REDACT_PATHS = [
  "secret",
  "*.secret",
  "*.*.secret",
  "apiKey",
  "*.apiKey",
  "*.*.apiKey",
  "password",
  "*.password",
  "*.*.password",
  "token",
  "*.token",
  "*.*.token",
  "seed",
  "*.seed",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "config.notifier.channels[*].secret",
  "config.notifier.channels[*].url",
  "config.http.token",
  "http.token",
  "req.headers.authorization",
  "request.headers.authorization",
];

export interface LoggerOptions {
  /**
   * Secret values (from the config, the identity seed) blanked wherever they appear in a line,
   * including error messages and stacks that path redaction cannot see.
   */
  secrets?: Iterable<string>;
}

/** Where a logger made by createLogger keeps the secrets it blanks, so a config reload can add new ones. */
const SECRET_LIST = Symbol.for("mirror.logger.secrets");
type Scrubbing = { secrets: Set<string>; scrub: ((line: string) => string) | undefined };

export function createLogger(
  service: string,
  dest?: DestinationStream,
  level = process.env.MIRROR_LOG_LEVEL ?? "info",
  opts: LoggerOptions = {},
): Logger {
  const list: Scrubbing = { secrets: new Set(opts.secrets ?? []), scrub: undefined };
  list.scrub = secretScrubber(list.secrets);
  const log = pino(
    {
      level,
      base: { service },
      // trace_id/span_id of the active span (a handler's consumer span); nothing without the SDK.
      mixin: traceFields,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: (line) => (list.scrub ? list.scrub(line) : line) },
    },
    dest,
  );
  Object.defineProperty(log, SECRET_LIST, { value: list, enumerable: false });
  return log;
}

/**
 * Blanks these values too in every line `log` writes from now on (secrets that came with a
 * reloaded config: a new API key, a rotated secretFile). Child loggers share the root's list.
 */
export function addLogSecrets(log: Logger, secrets: Iterable<string>): void {
  const list = (log as unknown as Record<symbol, Scrubbing | undefined>)[SECRET_LIST];
  if (!list) return;
  const before = list.secrets.size;
  for (const s of secrets) list.secrets.add(s);
  if (list.secrets.size !== before) list.scrub = secretScrubber(list.secrets);
}
