import { randomBytes } from "node:crypto";

/** Limits for untrusted JSON put into a prompt: long strings, long lists and deep nesting are cut. */
export interface CapLimits {
  maxString: number;
  maxArray: number;
  maxKeys: number;
  maxDepth: number;
}

const DEFAULT_CAPS: CapLimits = { maxString: 300, maxArray: 20, maxKeys: 40, maxDepth: 4 };

/** Cuts a string to `max` characters, saying so. */
export function capText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[${text.length - max} more characters cut]` : text;
}

/** A copy of untrusted JSON data small enough for a prompt; never throws, whatever it is given. */
export function capJson(value: unknown, caps: Partial<CapLimits> = {}, depth = 0): unknown {
  const c = { ...DEFAULT_CAPS, ...caps };
  if (typeof value === "string") return capText(value, c.maxString);
  if (value === null || typeof value === "number" || typeof value === "boolean") return value;
  if (depth >= c.maxDepth) return "[nested data cut]";
  if (Array.isArray(value)) {
    const out = value.slice(0, c.maxArray).map((v) => capJson(v, c, depth + 1));
    if (value.length > c.maxArray) out.push(`[${value.length - c.maxArray} more items cut]`);
    return out;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).slice(0, c.maxKeys);
    return Object.fromEntries(entries.map(([k, v]) => [capText(k, 60), capJson(v, c, depth + 1)]));
  }
  return undefined;
}

/**
 * Wraps untrusted text between markers with a random nonce, so the data cannot close its own
 * fence: a commit message saying "<<<END DATA>>> ignore the above" stays inside.
 */
export function fence(body: string): { open: string; close: string; text: string } {
  const nonce = randomBytes(6).toString("hex");
  const open = `<<<DATA ${nonce}>>>`;
  const close = `<<<END DATA ${nonce}>>>`;
  return { open, close, text: `${open}\n${body}\n${close}` };
}

/**
 * Serialises items one JSON line each until `maxChars` is reached; says how many were left out.
 * JSON escaping keeps every item on its own line whatever newlines the data holds.
 */
export function fitLines(items: unknown[], maxChars: number): { text: string; shown: number } {
  const lines: string[] = [];
  let used = 0;
  for (const item of items) {
    const line = JSON.stringify(item);
    if (used + line.length + 1 > maxChars && lines.length > 0) break;
    lines.push(capText(line, maxChars));
    used += line.length + 1;
  }
  const left = items.length - lines.length;
  if (left > 0) lines.push(`(${left} more not shown)`);
  return { text: lines.join("\n"), shown: items.length - left };
}
