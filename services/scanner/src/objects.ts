import { closeSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { constants, inflateSync } from "node:zlib";
import { COMMIT, readAt, readPackObject } from "./pack.js";

/**
 * Reads a commit's committer time straight from the object database, to spare a git process
 * per repo: a loose object (only its first bytes are inflated: the committer line precedes the
 * message) or an entry in a pack (idx v2), deltas resolved. Anything else (alternates, other
 * index versions, damage) answers undefined and the caller asks git.
 */
const HEAD_BYTES = 8_192;
const SHA_RE = /^[0-9a-f]{40}$/;

/** What the scanner reads of a commit: its committer time (ISO) and its parents. */
export interface CommitInfo {
  committedAt: string;
  parents: string[];
}

/**
 * The header of a commit's text. The committer line follows every parent line, so a header
 * cut short (a loose object's first bytes only) that still holds it lists every parent.
 */
function commitInfo(text: string): CommitInfo | undefined {
  const m = /\ncommitter [^\n]*> (\d+) [+-]\d{4}\n/.exec(text);
  if (!m) return undefined;
  const header = text.slice(0, m.index);
  const parents: string[] = [];
  for (const p of header.matchAll(/\nparent ([0-9a-f]{40})(?=\n)/g)) parents.push(p[1] as string);
  return { committedAt: new Date(Number(m[1]) * 1000).toISOString(), parents };
}

function inflateHead(data: Buffer): string {
  return inflateSync(data, { finishFlush: constants.Z_SYNC_FLUSH }).toString("latin1");
}

function openOrUndefined(path: string): number | undefined {
  try {
    return openSync(path, "r");
  } catch {
    return undefined;
  }
}

function withFile<T>(path: string, f: (fd: number) => T): T | undefined {
  const fd = openOrUndefined(path);
  if (fd === undefined) return undefined;
  try {
    return f(fd);
  } finally {
    closeSync(fd);
  }
}

function fromLoose(objects: string, sha: string): CommitInfo | undefined {
  return withFile(join(objects, sha.slice(0, 2), sha.slice(2)), (fd) => {
    const text = inflateHead(readAt(fd, 0, HEAD_BYTES));
    return text.startsWith("commit ") ? commitInfo(text) : undefined;
  });
}

/** The pack offset of `sha` from an idx v2 file, by binary search over positional reads. */
function idxOffset(idx: number, sha: Buffer): number | undefined {
  const header = readAt(idx, 0, 8 + 256 * 4);
  if (header.length < 8 + 1024 || header.readUInt32BE(0) !== 0xff744f63 || header.readUInt32BE(4) !== 2)
    return undefined;
  const first = sha[0] as number;
  let lo = first === 0 ? 0 : header.readUInt32BE(8 + (first - 1) * 4);
  let hi = header.readUInt32BE(8 + first * 4);
  const total = header.readUInt32BE(8 + 255 * 4);
  const shaTable = 8 + 1024;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const cmp = readAt(idx, shaTable + mid * 20, 20).compare(sha);
    if (cmp === 0) {
      const offsets = shaTable + total * 24;
      const off = readAt(idx, offsets + mid * 4, 4).readUInt32BE(0);
      if (!(off & 0x80000000)) return off;
      const large = readAt(idx, offsets + total * 4 + (off & 0x7fffffff) * 8, 8);
      return Number(large.readBigUInt64BE(0));
    }
    if (cmp < 0) lo = mid + 1;
    else hi = mid;
  }
  return undefined;
}

function fromPackEntry(pack: string, offset: number, idx: number): CommitInfo | undefined {
  return withFile(pack, (fd) => {
    const obj = readPackObject(fd, offset, (sha) => idxOffset(idx, sha));
    return obj?.type === COMMIT ? commitInfo(`\n${obj.data.toString("latin1")}`) : undefined;
  });
}

function fromPacks(objects: string, sha: string): CommitInfo | undefined {
  const dir = join(objects, "pack");
  let idxs: string[];
  try {
    idxs = readdirSync(dir).filter((f) => f.endsWith(".idx"));
  } catch {
    return undefined;
  }
  const key = Buffer.from(sha, "hex");
  for (const name of idxs) {
    const found = withFile(join(dir, name), (idx) => {
      const offset = idxOffset(idx, key);
      return offset === undefined
        ? undefined
        : { commit: fromPackEntry(join(dir, `${name.slice(0, -4)}.pack`), offset, idx) };
    });
    if (found) return found.commit;
  }
  return undefined;
}

/** Commit `sha` read from the object store, or undefined when it cannot be read here. */
export function readCommit(commonDir: string, sha: string): CommitInfo | undefined {
  if (!SHA_RE.test(sha)) return undefined;
  const objects = join(commonDir, "objects");
  try {
    return fromLoose(objects, sha) ?? fromPacks(objects, sha);
  } catch {
    return undefined;
  }
}

/** The committer time of commit `sha` (ISO), or undefined when it cannot be read here. */
export async function readCommitTime(commonDir: string, sha: string): Promise<string | undefined> {
  return readCommit(commonDir, sha)?.committedAt;
}
