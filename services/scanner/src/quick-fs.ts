import { type Dirent, lstatSync, readdirSync, readFileSync, type Stats, statSync } from "node:fs";

/**
 * Synchronous reads of a repo's small files. A stat or read of a cached file costs a few
 * microseconds synchronously, far less than a thread-pool round trip per call; the scanner
 * makes a dozen of them per repo, and they never wait on the network.
 */
export function statOf(path: string | Buffer, opts: { link?: boolean } = {}): Stats | undefined {
  try {
    return (opts.link ? lstatSync : statSync)(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * The file's text, or undefined when it cannot be read. Most files asked for are usually absent
 * (packed-refs, the stash reflog, config.worktree); a stat that does not throw answers that
 * about four times faster than the exception a failed read would build.
 */
export function readText(path: string, encoding: BufferEncoding = "utf8"): string | undefined {
  if (!statOf(path)) return undefined;
  try {
    return readFileSync(path, encoding);
  } catch {
    return undefined;
  }
}

export function listDir(path: string): Dirent[] | undefined {
  try {
    return readdirSync(path, { withFileTypes: true });
  } catch {
    return undefined;
  }
}
