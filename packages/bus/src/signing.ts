import { createHash } from "node:crypto";
import { CE, SIG_HEADERS } from "@mirror/contracts";
import { nkeys } from "@nats-io/nats-core";

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

/** A Signer from an nkey seed (the content of `<service>.nk`). */
export function nkeySigner(seed: Uint8Array): Signer {
  const kp = nkeys.fromSeed(seed);
  return { publicKey: kp.getPublicKey(), sign: (data) => Buffer.from(kp.sign(data)).toString("base64url") };
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

/** Checks `mirror-sig` by the key listed for the event's `ce-source` (from `public-keys.json`). */
export class KeyringVerifier implements Verifier {
  private readonly keys: Map<string, ReturnType<typeof nkeys.fromPublic>>;

  constructor(
    publicKeys: Record<string, string>,
    private readonly opts: KeyringOptions,
  ) {
    this.keys = new Map(Object.entries(publicKeys).map(([name, key]) => [name, nkeys.fromPublic(key)]));
  }

  verify(event: SignedEvent, opts: { allowUnsigned?: boolean } = {}): Verdict {
    const sig = event.header(SIG_HEADERS.signature);
    const key = event.header(SIG_HEADERS.key);
    const source = event.header(CE.source) ?? "(no ce-source)";
    if (!sig || !key) return this.opts.require && !opts.allowUnsigned ? { ok: false, reason: `unsigned event from "${source}"` } : { ok: true };
    const expected = this.keys.get(source);
    if (!expected) return { ok: false, reason: `"${source}" is not a known identity` };
    if (expected.getPublicKey() !== key) return { ok: false, reason: `signed by ${key.slice(0, 12)}…, which is not the key of "${source}"` };
    let valid = false;
    try {
      valid = expected.verify(signingBytes(event.header(CE.id) ?? "", event.subject, event.payload), Buffer.from(sig, "base64url"));
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: `signature of "${source}" does not match the event` };
    if (this.opts.mayPublish && !this.opts.mayPublish(source, event.subject)) return { ok: false, reason: `"${source}" may not publish on ${event.subject}` };
    return { ok: true, signer: source };
  }
}
