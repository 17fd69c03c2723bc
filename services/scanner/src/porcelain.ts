/**
 * Parser of `git status --porcelain=v2 --branch --show-stash -z` output: the format git
 * guarantees stable for scripts. Paths are raw bytes: the output is split as latin1 (one
 * char per byte, so nothing is lost), then each path is kept both as bytes for the file
 * system and as UTF-8 text for people; newlines, spaces or invalid UTF-8 parse like any other.
 */

import { MirrorError } from "@mirror/contracts";

/** Input that is not porcelain v2 output. The only error parseStatus throws. */
export class PorcelainParseError extends MirrorError {
  override name = "PorcelainParseError";
  constructor(message: string) {
    super("MIRROR_ERR_PORCELAIN", message);
  }
}

export type EntryKind = "changed" | "renamed" | "unmerged" | "untracked" | "ignored";

export interface StatusEntry {
  kind: EntryKind;
  /** Index (staged) status letter, "." when unchanged; "?" / "!" for untracked / ignored. */
  x: string;
  /** Worktree (unstaged) status letter. */
  y: string;
  /** The path as UTF-8 text (invalid bytes replaced): for display only. */
  path: string;
  /** The path's exact bytes, relative to the worktree: for the file system. */
  bytes: Buffer;
  /** The source path of a rename or copy. */
  origPath?: string;
  /** Submodule state field ("N..." when not a submodule). */
  sub?: string;
}

export interface StatusReport {
  /** HEAD commit, null on an unborn branch. */
  oid: string | null;
  /** Current branch, null when detached. */
  head: string | null;
  upstream: string | null;
  ahead: number | null;
  behind: number | null;
  stashes: number;
  /** Changed, unmerged and untracked entries (at most maxEntries). */
  entries: StatusEntry[];
  /** Paths reported ignored with `--ignored` (folders end with "/"; at most maxEntries). */
  ignoredPaths: string[];
  staged: number;
  unstaged: number;
  untracked: number;
  conflicted: number;
  ignored: number;
}

/** Splits off `n` space-separated fields; the rest (which may hold spaces) is the last element. */
function fields(record: string, n: number): string[] {
  const out: string[] = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const sp = record.indexOf(" ", pos);
    if (sp < 0)
      throw new PorcelainParseError(`record has fewer than ${n + 1} fields: ${JSON.stringify(record.slice(0, 80))}`);
    out.push(record.slice(pos, sp));
    pos = sp + 1;
  }
  out.push(record.slice(pos));
  return out;
}

const XY_RE = /^[.MTADRCU?!][.MTADRCU?!]$/;

function xy(value: string): [string, string] {
  if (!XY_RE.test(value)) throw new PorcelainParseError(`invalid XY status ${JSON.stringify(value)}`);
  return [value[0] as string, value[1] as string];
}

function withPath(path: string | undefined): { path: string; bytes: Buffer } {
  if (!path) throw new PorcelainParseError("record without a path");
  const bytes = Buffer.from(path, "latin1");
  return { path: bytes.toString("utf8"), bytes };
}

function parseHeader(line: string, report: StatusReport): void {
  const [key, ...rest] = line.slice(2).split(" ");
  const value = Buffer.from(rest.join(" "), "latin1").toString("utf8");
  switch (key) {
    case "branch.oid":
      report.oid = value === "(initial)" ? null : value;
      return;
    case "branch.head":
      report.head = value === "(detached)" ? null : value;
      return;
    case "branch.upstream":
      report.upstream = value;
      return;
    case "branch.ab": {
      const m = /^\+(\d+) -(\d+)$/.exec(value);
      if (!m) throw new PorcelainParseError(`invalid branch.ab ${JSON.stringify(value)}`);
      report.ahead = Number(m[1]);
      report.behind = Number(m[2]);
      return;
    }
    case "stash": {
      if (!/^\d+$/.test(value)) throw new PorcelainParseError(`invalid stash count ${JSON.stringify(value)}`);
      report.stashes = Number(value);
      return;
    }
    default:
      // Headers git adds in later versions are ignored, as the format allows.
      return;
  }
}

/** Parses one entry record; `next` yields the following NUL-separated field (a rename's source). */
function parseEntry(record: string, next: () => string | undefined): StatusEntry {
  const type = record[0];
  switch (type) {
    case "1": {
      const f = fields(record, 8);
      const [x, y] = xy(f[1] as string);
      return { kind: "changed", x, y, sub: f[2], ...withPath(f[8]) };
    }
    case "2": {
      const f = fields(record, 9);
      const [x, y] = xy(f[1] as string);
      const origPath = next();
      if (origPath === undefined) throw new PorcelainParseError("rename record without its source path");
      return {
        kind: "renamed",
        x,
        y,
        sub: f[2],
        ...withPath(f[9]),
        origPath: Buffer.from(origPath, "latin1").toString("utf8"),
      };
    }
    case "u": {
      const f = fields(record, 10);
      const [x, y] = xy(f[1] as string);
      return { kind: "unmerged", x, y, sub: f[2], ...withPath(f[10]) };
    }
    case "?":
    case "!":
      if (record[1] !== " ") throw new PorcelainParseError(`invalid ${type} record`);
      return { kind: type === "?" ? "untracked" : "ignored", x: type, y: type, ...withPath(record.slice(2)) };
    default:
      throw new PorcelainParseError(`unknown record type ${JSON.stringify(record.slice(0, 20))}`);
  }
}

function count(report: StatusReport, e: StatusEntry): void {
  if (e.kind === "untracked") report.untracked++;
  else if (e.kind === "ignored") report.ignored++;
  else if (e.kind === "unmerged") report.conflicted++;
  else {
    if (e.x !== ".") report.staged++;
    if (e.y !== ".") report.unstaged++;
  }
}

export interface ParseOptions {
  /** Keep at most this many entries (counts still cover all of them). */
  maxEntries?: number;
}

/** Parses porcelain v2 `-z` output (a string is taken as its UTF-8 bytes). Throws only PorcelainParseError. */
export function parseStatus(output: Buffer | string, opts: ParseOptions = {}): StatusReport {
  const text = (typeof output === "string" ? Buffer.from(output, "utf8") : output).toString("latin1");
  const records = text.split("\0");
  if (records.at(-1) === "") records.pop();
  const report: StatusReport = {
    oid: null,
    head: null,
    upstream: null,
    ahead: null,
    behind: null,
    stashes: 0,
    entries: [],
    ignoredPaths: [],
    staged: 0,
    unstaged: 0,
    untracked: 0,
    conflicted: 0,
    ignored: 0,
  };
  const max = opts.maxEntries ?? Number.POSITIVE_INFINITY;
  let i = 0;
  const next = () => (i < records.length ? records[i++] : undefined);
  while (i < records.length) {
    const record = records[i++] as string;
    if (record.startsWith("# ")) {
      parseHeader(record, report);
      continue;
    }
    const entry = parseEntry(record, next);
    count(report, entry);
    if (entry.kind === "ignored") {
      if (report.ignoredPaths.length < max) report.ignoredPaths.push(entry.path);
    } else if (report.entries.length < max) report.entries.push(entry);
  }
  return report;
}
