import { z } from "zod";
import { MirrorError } from "./errors.js";

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** Error thrown for a duration string that does not parse. */
export class DurationError extends MirrorError {
  override name = "DurationError";
  constructor(message: string) {
    super("MIRROR_ERR_DURATION", message);
  }
}

/** Parses "500ms", "30s", "5m", "24h", "7d", "1h30m" into milliseconds. */
export function parseDuration(text: string): number {
  const input = String(text).trim();
  if (input === "0") return 0;
  const parts = input.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d|w)/g);
  if (!parts || parts.join("") !== input) {
    throw new DurationError(`invalid duration "${text}": use a number with a unit, e.g. 500ms, 30s, 5m, 24h, 7d`);
  }
  let total = 0;
  for (const part of parts) {
    const m = DURATION_RE.exec(part);
    if (!m) throw new DurationError(`invalid duration "${text}"`);
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
  }
  return Math.round(total);
}

/** Formats milliseconds as a short human duration ("2d 3h", "45s"). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const out: string[] = [];
  let rest = Math.floor(ms / 1000);
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out.push(`${n}${unit}`);
    rest -= n * size;
    if (out.length === 2) break;
  }
  return out.join(" ");
}

/** A duration in config: a string with a unit in, milliseconds out. */
export const Duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  if (typeof value === "number") {
    if (value === 0) return 0;
    ctx.addIssue({ code: "custom", message: `durations need a unit, e.g. "${value}s" or "${value}ms"` });
    return z.NEVER;
  }
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** A config duration with a default given as a string ("24h"). */
export const duration = (fallback: string) => Duration.prefault(fallback);
