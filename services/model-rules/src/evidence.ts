import type { Loop } from "@mirror/contracts";

/**
 * Reads the loop's evidence defensively: the loop-detector copies fields of the snapshot or
 * status that opened the loop, either at the top level or under `snapshot` / `status`.
 * Evidence is untrusted input, so every reader checks the type it gets.
 */
export function field(loop: Loop, ...names: string[]): unknown {
  const ev = loop.evidence ?? {};
  for (const scope of [ev, ev.snapshot, ev.status, ev.branch]) {
    if (!scope || typeof scope !== "object") continue;
    for (const name of names) {
      const value = dig(scope as Record<string, unknown>, name);
      if (value !== undefined && value !== null) return value;
    }
  }
  return undefined;
}

function dig(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function num(loop: Loop, ...names: string[]): number | undefined {
  const v = field(loop, ...names);
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** A short, single-line, printable piece of untrusted text (a branch name, a reason). */
export function text(loop: Loop, ...names: string[]): string | undefined {
  const v = field(loop, ...names);
  return typeof v === "string" && v.length > 0 ? clean(v) : undefined;
}

export function clean(value: string, max = 120): string {
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Milliseconds since epoch of an ISO time field, when present and valid. */
export function time(loop: Loop, ...names: string[]): number | undefined {
  const v = field(loop, ...names);
  if (typeof v !== "string") return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
