// Hostile payloads a careless or malicious publisher could put on a subscribed subject. Every one
// is invalid for every consumer (wrong types, bad envelope, not text), so each must come out on
// mirror.dlq.<service> with a reason: none may crash a service or reach its state.
import { randomUUID } from "node:crypto";
import type { Probe, StoredMsg } from "./probe.js";

export interface Garbage {
  name: string;
  payload: Uint8Array | string;
  headers?: Record<string, string>;
}

const deep = (n: number) => `{"at":${"[".repeat(n)}${"]".repeat(n)}}`;

export const GARBAGE: readonly Garbage[] = [
  {
    name: "wrong types",
    payload: '{"name":42,"kind":7,"at":"yesterday","repoKey":null,"path":[],"loop":"x","state":{}}',
  },
  {
    name: "unknown CloudEvents type",
    payload: "{}",
    headers: { "ce-specversion": "1.0", "ce-type": "evil.unknown.v9", "ce-id": "x", "ce-source": "nobody" },
  },
  { name: "not UTF-8, with NUL", payload: new Uint8Array([0xff, 0x00, 0xfe, 0x00, 0xc3, 0x28]) },
  { name: "900 KB string", payload: `{"at":"${"x".repeat(900 * 1024)}","name":"big"}` },
  { name: "deep nesting", payload: deep(50_000) },
  {
    name: "prototype pollution",
    payload: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"at":{"__proto__":1}}',
  },
  { name: "huge numbers", payload: '{"seq":1e400,"at":1e308,"name":-1e999,"kind":123456789012345678901234567890}' },
];

/** The subjects of the new-user scenario: one subject of each family a service consumes. */
export const GARBAGE_SUBJECTS = [
  "mirror.repo.snapshot.garbage",
  "mirror.service.status.garbage",
  "mirror.loop.opened.garbage",
  "mirror.heartbeat.garbage",
] as const;

export interface Sent {
  subject: string;
  id: string;
  name: string;
}

/** Publishes every garbage payload on every subject (JetStream, so an outage does not drop it). */
export async function throwGarbage(
  probe: Probe,
  subjects: readonly string[] = GARBAGE_SUBJECTS,
  tag = "",
): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (const subject of subjects) {
    for (const g of GARBAGE) {
      const id = `garbage-${tag}-${randomUUID()}`;
      await probe.publish(subject, g.payload, { id, headers: g.headers });
      sent.push({ subject, id, name: g.name });
    }
  }
  return sent;
}

/**
 * The dead letter of each garbage message (matched by its Nats-Msg-Id, which the DLQ keeps
 * among the original headers), and the ones that never got one.
 */
export function matchDeadLetters(
  sent: readonly Sent[],
  dlq: readonly StoredMsg[],
): { missing: Sent[]; reasons: Map<string, string> } {
  const byId = new Map<string, { reason: string; subject: string }>();
  for (const m of dlq) {
    const d = m.json as { subject?: string; reason?: string; headers?: Record<string, string> } | undefined;
    const id = d?.headers?.["Nats-Msg-Id"];
    if (id) byId.set(id, { reason: String(d?.reason), subject: String(d?.subject) });
  }
  const missing = sent.filter((s) => byId.get(s.id)?.subject !== s.subject);
  const reasons = new Map(
    sent.flatMap((s) => (byId.has(s.id) ? [[`${s.subject} ${s.name}`, byId.get(s.id)?.reason ?? ""] as const] : [])),
  );
  return { missing, reasons };
}
