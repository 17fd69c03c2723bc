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
