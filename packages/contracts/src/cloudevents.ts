/** CloudEvents 1.0 binary-mode attribute names as NATS headers. */
export const CE = {
  specversion: "ce-specversion",
  id: "ce-id",
  source: "ce-source",
  type: "ce-type",
  time: "ce-time",
  subject: "ce-subject",
  contentType: "content-type",
  traceparent: "traceparent",
  tracestate: "tracestate",
  msgId: "Nats-Msg-Id",
} as const;

/**
 * MirrorOS's own event headers (not CloudEvents attributes): `mirror-sig` is the ed25519
 * signature (base64url) by the producing identity's nkey over ce-id, subject and the SHA-256
 * of the payload; `mirror-key` is that identity's public nkey. See packages/bus/src/signing.ts.
 */
export const SIG_HEADERS = { signature: "mirror-sig", key: "mirror-key" } as const;

export interface CloudEventMeta {
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
}

export function toCeHeaders(meta: CloudEventMeta): Record<string, string> {
  const h: Record<string, string> = {
    [CE.specversion]: "1.0",
    [CE.id]: meta.id,
    [CE.source]: meta.source,
    [CE.type]: meta.type,
    [CE.time]: meta.time,
    [CE.contentType]: "application/json",
    [CE.msgId]: meta.id,
  };
  if (meta.subject) h[CE.subject] = meta.subject;
  return h;
}

/** Reads the CloudEvents attributes back; returns the names of the missing required ones. */
export function fromCeHeaders(get: (name: string) => string | undefined): { meta?: CloudEventMeta; missing: string[] } {
  const need = ["id", "source", "type", "time"] as const;
  const missing: string[] = [];
  const values: Record<string, string> = {};
  for (const key of need) {
    const v = get(CE[key]);
    if (!v) missing.push(CE[key]);
    else values[key] = v;
  }
  if (get(CE.specversion) !== "1.0") missing.push(CE.specversion);
  if (missing.length) return { missing };
  return {
    missing,
    meta: {
      id: values.id as string,
      source: values.source as string,
      type: values.type as string,
      time: values.time as string,
      subject: get(CE.subject) || undefined,
    },
  };
}
