import { readSync } from "node:fs";
import { constants, inflateSync } from "node:zlib";

/**
 * Reads one object out of a git pack file (format: gitformat-pack), resolving OFS_DELTA and
 * REF_DELTA chains, so a commit stored as a delta of another is still read without git.
 * Returns undefined for anything unexpected (too big, too deep, damaged): the caller asks git.
 */
export interface PackObject {
  type: number;
  data: Buffer;
}

const COMMIT = 1;
const OFS_DELTA = 6;
const REF_DELTA = 7;
const MAX_OBJECT = 1 << 20;
const MAX_DEPTH = 64;

/** A synchronous positional read: a few small reads of cached files, cheaper than thread-pool trips. */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  return buf.subarray(0, readSync(fd, buf, 0, length, position));
}

/** Inflates `size` bytes starting at `pos`, reading more of the file until the stream has them. */
function inflateAt(fd: number, pos: number, size: number): Buffer | undefined {
  for (let chunk = size + 1024; chunk <= 4 * MAX_OBJECT; chunk *= 4) {
    const out = inflateSync(readAt(fd, pos, chunk), { finishFlush: constants.Z_SYNC_FLUSH });
    if (out.length >= size) return out.subarray(0, size);
  }
  return undefined;
}

function varint(buf: Buffer, start: number): [number, number] {
  let value = 0;
  let shift = 0;
  let i = start;
  let byte: number;
  do {
    byte = buf[i++] as number;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80 && i < buf.length);
  return [value, i];
}

/** Applies a git delta (source size, target size, then copy/insert instructions) to `base`. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer | undefined {
  const [srcSize, a] = varint(delta, 0);
  const [dstSize, b] = varint(delta, a);
  if (srcSize !== base.length || dstSize > MAX_OBJECT) return undefined;
  const out = Buffer.alloc(dstSize);
  let o = 0;
  let i = b;
  while (i < delta.length) {
    const op = delta[i++] as number;
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let k = 0; k < 4; k++) if (op & (1 << k)) off |= (delta[i++] as number) << (8 * k);
      for (let k = 0; k < 3; k++) if (op & (0x10 << k)) len |= (delta[i++] as number) << (8 * k);
      if (len === 0) len = 0x10000;
      off >>>= 0;
      if (off + len > base.length || o + len > dstSize) return undefined;
      base.copy(out, o, off, off + len);
      o += len;
    } else if (op > 0) {
      if (o + op > dstSize || i + op > delta.length) return undefined;
      delta.copy(out, o, i, i + op);
      o += op;
      i += op;
    } else return undefined;
  }
  return o === dstSize ? out : undefined;
}

/** The object at `offset`; `locate` finds a REF_DELTA base's offset in the same pack. */
export function readPackObject(
  fd: number,
  offset: number,
  locate: (sha: Buffer) => number | undefined,
  depth = 0,
): PackObject | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const head = readAt(fd, offset, 32);
  let i = 0;
  let byte = head[i++] as number;
  const type = (byte >> 4) & 7;
  let size = byte & 0x0f;
  let shift = 4;
  while (byte & 0x80 && i < head.length) {
    byte = head[i++] as number;
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (size > MAX_OBJECT) return undefined;
  let baseOffset: number | undefined;
  if (type === OFS_DELTA) {
    byte = head[i++] as number;
    let neg = byte & 0x7f;
    while (byte & 0x80) {
      byte = head[i++] as number;
      neg = (neg + 1) * 128 + (byte & 0x7f);
    }
    baseOffset = offset - neg;
  } else if (type === REF_DELTA) {
    baseOffset = locate(head.subarray(i, i + 20));
    i += 20;
  }
  const data = inflateAt(fd, offset + i, size);
  if (!data) return undefined;
  if (type !== OFS_DELTA && type !== REF_DELTA) return { type, data };
  if (baseOffset === undefined || baseOffset < 0) return undefined;
  const base = readPackObject(fd, baseOffset, locate, depth + 1);
  const out = base && applyDelta(base.data, data);
  return out ? { type: base.type, data: out } : undefined;
}

export { COMMIT };
