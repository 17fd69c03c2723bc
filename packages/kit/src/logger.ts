import { pino, type DestinationStream, type Logger } from "pino";

/** Paths that may hold secrets; pino replaces them before a line is written. */
export const REDACT_PATHS = [
  "secret", "*.secret", "*.*.secret", "apiKey", "*.apiKey", "*.*.apiKey", "password", "*.password", "*.*.password",
  "token", "*.token", "*.*.token", "seed", "*.seed", "authorization", "*.authorization", "*.headers.authorization",
  "*.headers.Authorization", "config.notifier.channels[*].secret", "config.notifier.channels[*].url",
];

export function createLogger(service: string, dest?: DestinationStream, level = process.env.MIRROR_LOG_LEVEL ?? "info"): Logger {
  return pino(
    {
      level,
      base: { service },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}
