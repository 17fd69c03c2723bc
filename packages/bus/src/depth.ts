/**
 * Deepest nesting a consumed payload may have. Events nest a few levels; JSON.parse accepts
 * 100,000, but JSON.stringify (storing, republishing) then overflows the stack on every
 * redelivery, so such a payload is refused up front.
 */
export const MAX_DEPTH = 64;

/** Whether a decoded JSON value nests arrays/objects deeper than `limit` (iterative: deep input cannot overflow here). */
export function nestsDeeperThan(value: unknown, limit = MAX_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== "object") continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The same question asked of JSON text before it is parsed: one pass over the bytes counting
 * brackets outside strings, allocating nothing (the value walk above made a tuple per node and
 * an array per object, ~2% of what a busy consumer allocated). Exact for valid JSON; invalid
 * JSON is refused by the parse that follows.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, limit = MAX_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
  }
  return false;
}
