import { createHash, type KeyObject } from "node:crypto";
import { CE, SIG_HEADERS } from "@mirror/contracts";
import { ed25519, privateKeyOf, publicKeyOf, rawPublicKeyOf } from "./ed25519.js";
import { SigningKeyError } from "./errors.js";
import { decodeUserPublicKey, decodeUserSeed, encodeUserPublicKey } from "./nkey-codec.js";

/** Signs outgoing events with this service's identity key (an nkey). */
export interface Signer {
  /** The public nkey (U...) sent in `mirror-key`. */
  readonly publicKey: string;
  /** Signs the bytes; returns the signature as base64url. */
  sign(data: Uint8Array): string;
}

/** What a verifier looks at: the subject, the header getter and the raw payload. */
export interface SignedEvent {
  subject: string;
  header(name: string): string | undefined;
  payload: Uint8Array;
}

/** `ok` (optionally naming the verified signer), or why the event cannot be trusted. */
export type Verdict = { ok: true; signer?: string } | { ok: false; reason: string };

/** Verifies an event's signature against the public key of the identity named in ce-source. */
export interface Verifier {
  /** `allowUnsigned`: this consumer accepts events without a signature (a wrong one is still refused). */
  verify(event: SignedEvent, opts?: { allowUnsigned?: boolean }): Verdict;
}

const te = new TextEncoder();

/**
 * The bytes `mirror-sig` covers: ce-id, subject and the SHA-256 of the payload. The subject is
 * in it so a signed event cannot be replayed onto another subject; the key that signed is
 * bound to the producer by the verifier (ce-source -> public key).
 */
export function signingBytes(id: string, subject: string, payload: Uint8Array): Uint8Array {
  const digest = createHash("sha256").update(payload).digest("hex");
  return te.encode(`mirror-sig/1\n${id}\n${subject}\n${digest}`);
}

const SIGNATURE_BYTES = 64;

/** The node:crypto key of a public user nkey (`U...`); a SigningKeyError naming the identity if it does not decode. */
export function publicKeyObject(identity: string, publicKey: string): KeyObject {
  return decodePublic(identity, publicKey, publicKeyOf);
}

/** Verifies signatures by a public user nkey (ed25519.ts); a SigningKeyError naming the identity if it does not decode. */
function publicKeyVerifier(identity: string, publicKey: string): (data: Uint8Array, signature: Uint8Array) => boolean {
  return decodePublic(identity, publicKey, (raw) => ed25519().verifier(raw));
}

function decodePublic<T>(identity: string, publicKey: string, use: (raw: Uint8Array) => T): T {
  try {
    return use(decodeUserPublicKey(publicKey));
  } catch (err) {
    throw new SigningKeyError(
      identity,
      `the public key of "${identity}" (${publicKey.slice(0, 12)}…) does not decode: ${(err as Error).message}`,
      err,
    );
  }
}

/**
 * A Signer from an nkey seed (the content of `<service>.nk`), signing with libsodium or
 * node:crypto (ed25519.ts): the same signatures as nkeys (ed25519 is deterministic), at a
 * fraction of the cost, because the key is decoded once here rather than on every signature.
 */
export function nkeySigner(seed: Uint8Array | string, identity = "this service"): Signer {
  const { raw, publicKey } = decodeSeed(seed, identity);
  const sign = ed25519().signer(raw);
  return { publicKey, sign: (data) => sign(data).toString("base64url") };
}

/**
 * The node:crypto private key of an nkey user seed and its public nkey (`U...`), decoded once:
 * what nkeyAuth answers the connection's nonce with.
 */
export function nkeyKeyPair(
  seed: Uint8Array | string,
  identity = "this service",
): { privateKey: KeyObject; publicKey: string } {
  const { privateKey, publicKey } = decodeSeed(seed, identity);
  return { privateKey, publicKey };
}

function decodeSeed(
  seed: Uint8Array | string,
  identity: string,
): { raw: Uint8Array; privateKey: KeyObject; publicKey: string } {
  let raw: Uint8Array;
  let privateKey: KeyObject;
  try {
    const text = typeof seed === "string" ? seed : new TextDecoder().decode(seed);
    raw = decodeUserSeed(text);
    privateKey = privateKeyOf(raw);
  } catch (err) {
    throw new SigningKeyError(
      identity,
      `the key file of "${identity}" is not an nkey user seed (SU...): ${(err as Error).message}`,
      err,
    );
  }
  return { raw, privateKey, publicKey: encodeUserPublicKey(rawPublicKeyOf(raw)) };
}

/** Adds `mirror-key` and `mirror-sig` to an event's headers. */
export function signHeaders(signer: Signer, h: Record<string, string>, subject: string, payload: Uint8Array): void {
  h[SIG_HEADERS.key] = signer.publicKey;
  h[SIG_HEADERS.signature] = signer.sign(signingBytes(h[CE.id] ?? "", subject, payload));
}

export interface KeyringOptions {
  /** Refuse unsigned events (a present but wrong signature is refused either way). */
  require: boolean;
  /** Whether that identity may publish on that subject (the permission table); refused if false. */
  mayPublish?: (identity: string, subject: string) => boolean;
}

interface KnownKey {
  text: string;
  verify: (data: Uint8Array, signature: Uint8Array) => boolean;
}

/** Checks `mirror-sig` by the key listed for the event's `ce-source` (from `public-keys.json`). */
export class KeyringVerifier implements Verifier {
  private readonly keys: Map<string, KnownKey>;

  /** Throws a SigningKeyError naming the identity whose public key does not decode. */
  constructor(
    publicKeys: Record<string, string>,
    private readonly opts: KeyringOptions,
  ) {
    this.keys = new Map(
      Object.entries(publicKeys).map(([name, text]) => [name, { text, verify: publicKeyVerifier(name, text) }]),
    );
  }

  verify(event: SignedEvent, opts: { allowUnsigned?: boolean } = {}): Verdict {
    const sig = event.header(SIG_HEADERS.signature);
    const key = event.header(SIG_HEADERS.key);
    const source = event.header(CE.source) ?? "(no ce-source)";
    if (!sig || !key)
      return this.opts.require && !opts.allowUnsigned
        ? { ok: false, reason: `unsigned event from "${source}"` }
        : { ok: true };
    const expected = this.keys.get(source);
    if (!expected) return { ok: false, reason: `"${source}" is not a known identity` };
    if (expected.text !== key)
      return { ok: false, reason: `signed by ${key.slice(0, 12)}…, which is not the key of "${source}"` };
    const bytes = Buffer.from(sig, "base64url");
    if (bytes.length !== SIGNATURE_BYTES || !/^[A-Za-z0-9_-]+$/.test(sig)) {
      return {
        ok: false,
        reason: `the signature of "${source}" is not ${SIGNATURE_BYTES} bytes of base64url (${sig.length} characters, ${bytes.length} bytes)`,
      };
    }
    if (!expected.verify(signingBytes(event.header(CE.id) ?? "", event.subject, event.payload), bytes)) {
      return { ok: false, reason: `signature of "${source}" does not match the event` };
    }
    if (this.opts.mayPublish && !this.opts.mayPublish(source, event.subject))
      return { ok: false, reason: `"${source}" may not publish on ${event.subject}` };
    return { ok: true, signer: source };
  }
}
