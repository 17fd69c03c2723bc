/**
 * The nkey text format (github.com/nats-io/nkeys): base32 (RFC 4648, no padding) of
 * `prefix || 32 key bytes || crc16`, the CRC-16/XMODEM of the bytes before it, little-endian.
 * A public key has one prefix byte (`U` for a user); a seed has two (`S` then the role), so
 * that both letters show when encoded. Decoded here, once per key, so that signing can use
 * node:crypto's ed25519 instead of nkeys' pure-JavaScript one.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const PREFIX_SEED = 18 << 3;
const PREFIX_USER = 20 << 3;

/** Why a text is not the nkey asked for (the caller names the identity). */
export class NkeyDecodeError extends Error {
  override name = "NkeyDecodeError";
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function base32Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new NkeyDecodeError(`"${ch}" is not a base32 character`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[j++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out.subarray(0, j);
}

function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The bytes before the checksum, once the checksum is checked. */
function unwrap(text: string, length: number): Uint8Array {
  const raw = base32Decode(text);
  if (raw.length !== length) throw new NkeyDecodeError(`decodes to ${raw.length} bytes, not ${length}`);
  const body = raw.subarray(0, length - 2);
  const sum = (raw[length - 2] as number) | ((raw[length - 1] as number) << 8);
  if (crc16(body) !== sum) throw new NkeyDecodeError("its checksum does not match");
  return body;
}

/** The 32-byte ed25519 seed inside a user seed (`SU...`, 58 characters). */
export function decodeUserSeed(text: string): Uint8Array {
  const body = unwrap(text.trim(), 36);
  const kind = (body[0] as number) & 0xf8;
  const role = (((body[0] as number) & 0x07) << 5) | (((body[1] as number) & 0xf8) >> 3);
  if (kind !== PREFIX_SEED || role !== PREFIX_USER) throw new NkeyDecodeError("it is not a user seed (SU...)");
  return body.slice(2);
}

/** The 32-byte ed25519 public key inside a public user nkey (`U...`, 56 characters). */
export function decodeUserPublicKey(text: string): Uint8Array {
  const body = unwrap(text, 35);
  if (body[0] !== PREFIX_USER) throw new NkeyDecodeError("it is not a public user key (U...)");
  return body.slice(1);
}

/** The public user nkey (`U...`) of a 32-byte ed25519 public key. */
export function encodeUserPublicKey(raw: Uint8Array): string {
  const body = new Uint8Array(33);
  body[0] = PREFIX_USER;
  body.set(raw, 1);
  const sum = crc16(body);
  const full = new Uint8Array(35);
  full.set(body);
  full[33] = sum & 0xff;
  full[34] = sum >> 8;
  return base32Encode(full);
}
