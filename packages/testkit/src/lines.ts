import type { Readable } from "node:stream";

/**
 * Appends what `stream` writes to `into` as whole lines: a line split over two chunks is pushed
 * once, complete (a test that waits for a log line must never miss one cut in half).
 */
export function collectLines(
  stream: Readable | null | undefined,
  into: string[],
  onLine?: (line: string) => void,
): void {
  let rest = "";
  // Decoded as a stream: a character split between two chunks stays whole.
  stream?.setEncoding("utf8");
  stream?.on("data", (d: string) => {
    const lines = (rest + d).split("\n");
    rest = lines.pop() ?? "";
    into.push(...lines);
    if (onLine) for (const l of lines) onLine(l);
  });
}
