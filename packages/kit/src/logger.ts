import { pino, type DestinationStream, type Logger } from "pino";
import { secretScrubber } from "./secrets.js";
import { traceFields } from "./tracing.js";

/** Paths that may hold secrets; pino replaces them before a line is written. */
export const REDACT_PATHS = [
  "secret", "*.secret", "*.*.secret", "apiKey", "*.apiKey", "*.*.apiKey", "password", "*.password", "*.*.password",
  "token", "*.token", "*.*.token", "seed", "*.seed", "authorization", "*.authorization", "*.headers.authorization",
  "*.headers.Authorization", "config.notifier.channels[*].secret", "config.notifier.channels[*].url",
  "config.http.token", "http.token", "req.headers.authorization", "request.headers.authorization",
];

export interface LoggerOptions {
  /**
   * Secret values (from the config, the identity seed) blanked wherever they appear in a line,
   * including error messages and stacks that path redaction cannot see.
   */
  secrets?: Iterable<string>;
}

export function createLogger(service: string, dest?: DestinationStream, level = process.env.MIRROR_LOG_LEVEL ?? "info", opts: LoggerOptions = {}): Logger {
  const scrub = opts.secrets ? secretScrubber(opts.secrets) : undefined;
  return pino(
    {
      level,
      base: { service },
      // trace_id/span_id of the active span (a handler's consumer span); nothing without the SDK.
      mixin: traceFields,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...(scrub ? { hooks: { streamWrite: scrub } } : {}),
    },
    dest,
  );
}
