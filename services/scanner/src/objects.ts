import { promises as fs } from "node:fs";
import { join } from "node:path";
import { constants, inflateSync } from "node:zlib";

/**
 * Reads a commit's committer time straight from the object database, to spare a git process
 * per repo: a loose object, or a non-delta entry in a pack (idx v2). Anything else (deltas,
 * alternates, other index versions, damage) answers undefined and the caller asks git.
 * Only the object's first bytes are inflated: the committer line precedes the message.
 */
const HEAD_BYTES = 8_192;
const SHA_RE = /^[0-9a-f]{40}$/;

function committerTime(text: string): string | undefined {
  const m = /\ncommitter [^\n]*> (\d+) [+-]\d{4}\n/.exec(text);
  return m ? new Date(Number(m[1]) * 1000).toISOString() : undefined;
}

function inflateHead(data: Buffer): string {
  return inflateSync(data, { finishFlush: constants.Z_SYNC_FLUSH }).toString("latin1");
}

async function readAt(fd: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fd.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

async function fromLoose(objects: string, sha: string): Promise<string | undefined> {
  const fd = await fs.open(join(objects, sha.slice(0, 2), sha.slice(2)), "r").catch(() => undefined);
  if (!fd) return undefined;
  try {
    const text = inflateHead(await readAt(fd, 0, HEAD_BYTES));
    return text.startsWith("commit ") ? committerTime(text) : undefined;
  } finally {
    await fd.close();
  }
}

/** The pack offset of `sha` from an idx v2 file, by binary search over positional reads. */
async function idxOffset(idx: fs.FileHandle, sha: Buffer): Promise<number | undefined> {
  const header = await readAt(idx, 0, 8 + 256 * 4);
  if (header.length < 8 + 1024 || header.readUInt32BE(0) !== 0xff744f63 || header.readUInt32BE(4) !== 2) return undefined;
  const first = sha[0] as number;
  let lo = first === 0 ? 0 : header.readUInt32BE(8 + (first - 1) * 4);
  let hi = header.readUInt32BE(8 + first * 4);
  const total = header.readUInt32BE(8 + 255 * 4);
  const shaTable = 8 + 1024;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const cmp = (await readAt(idx, shaTable + mid * 20, 20)).compare(sha);
    if (cmp === 0) {
      const offsets = shaTable + total * 24;
      const off = (await readAt(idx, offsets + mid * 4, 4)).readUInt32BE(0);
      if (!(off & 0x80000000)) return off;
      const large = await readAt(idx, offsets + total * 4 + (off & 0x7fffffff) * 8, 8);
      return Number(large.readBigUInt64BE(0));
    }
    if (cmp < 0) lo = mid + 1;
    else hi = mid;
  }
  return undefined;
}

async function fromPackEntry(pack: string, offset: number): Promise<string | undefined> {
  const fd = await fs.open(pack, "r");
  try {
    const data = await readAt(fd, offset, HEAD_BYTES);
    let i = 0;
    let byte = data[i++] as number;
    const type = (byte >> 4) & 7;
    while (byte & 0x80 && i < data.length) byte = data[i++] as number;
    if (type !== 1) return undefined; // 1 = commit; a delta is left to git
    return committerTime(`\n${inflateHead(data.subarray(i))}`);
  } finally {
    await fd.close();
  }
}

async function fromPacks(objects: string, sha: string): Promise<string | undefined> {
  const dir = join(objects, "pack");
  const idxs = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".idx"));
  const key = Buffer.from(sha, "hex");
  for (const name of idxs) {
    const idx = await fs.open(join(dir, name), "r").catch(() => undefined);
    if (!idx) continue;
    let offset: number | undefined;
    try {
      offset = await idxOffset(idx, key);
    } finally {
      await idx.close();
    }
    if (offset !== undefined) return fromPackEntry(join(dir, `${name.slice(0, -4)}.pack`), offset);
  }
  return undefined;
}

/** The committer time of commit `sha` (ISO), or undefined when it cannot be read here. */
export async function readCommitTime(commonDir: string, sha: string): Promise<string | undefined> {
  if (!SHA_RE.test(sha)) return undefined;
  const objects = join(commonDir, "objects");
  try {
    return (await fromLoose(objects, sha)) ?? (await fromPacks(objects, sha));
  } catch {
    return undefined;
  }
}
