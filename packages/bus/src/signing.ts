/** Signs outgoing events with this service's identity key. */
export interface Signer {
  sign(data: Uint8Array): string;
}

/** Verifies an event's signature against the public key of the identity named in ce-source. */
export interface Verifier {
  /** "ok": signed by that identity; "bad": missing or wrong signature (dead-lettered); "skip": not checked. */
  verify(source: string, data: Uint8Array, signature: string | undefined): "ok" | "bad" | "skip";
}
