/**
 * For tests and the bench only: the NATS client under a Bus, to read the stream, publish garbage
 * or count consumer deliveries the way an outside client would. Services and the CLI use the Bus's
 * named operations (the lint refuses @nats-io imports outside packages/bus).
 */
export { raw, type RawBus } from "./raw.js";
export {
  isAuthorizationError,
  isConsumerExists,
  isConsumerNotFound,
  isNoResponders,
  isPayloadTooLarge,
  isPermissionViolation,
  isStreamNotFound,
  isTimeout,
  jetStreamApiCode,
  JS_ERR,
} from "./nats-errors.js";

/**
 * The events a stored or delivered message carries, as an outside reader sees them: a lone
 * event, or each event of a batch (batch.ts) with the subject, id and data it would have had
 * alone. Unchecked, and none for a message that is not JSON: for tests and the bench.
 */
export function eventsOf(m: {
  subject: string;
  data: Uint8Array;
  headers?: { get(name: string): string } | undefined;
}): { subject: string; id: string; data: unknown }[] {
  // What is not JSON (a test's garbage) carries no event.
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(m.data));
  } catch {
    return [];
  }
  if (!m.subject.endsWith(".~batch"))
    return [{ subject: m.subject, id: m.headers?.get("Nats-Msg-Id") ?? "", data: value }];
  if (!Array.isArray(value)) return [];
  const prefix = m.subject.slice(0, -".~batch".length);
  return (value as { id: string; subject: string; data: unknown }[]).map((e) => ({
    subject: `${prefix}.${e.subject}`,
    id: e.id,
    data: e.data,
  }));
}

/**
 * The newest stored event of one subject, lone or batched (eventsOf), as JSON: the last lone
 * message of the subject, unless a batch stored after it carries a newer one.
 */
export async function lastEventOf(
  jsm: import("@nats-io/jetstream").JetStreamManager,
  subject: string,
  stream = "MIRROR",
): Promise<unknown> {
  const lone = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
  let found: unknown = lone ? lone.json() : undefined;
  const prefix = subject.slice(0, subject.lastIndexOf("."));
  const batch = `${prefix}.~batch`;
  let seq = lone?.seq ?? 0;
  for (;;) {
    const query = { seq: seq + 1, next_by_subj: batch } as unknown as { seq: number };
    const m = await jsm.streams.getMessage(stream, query).catch(() => null);
    if (!m || m.seq <= seq) return found;
    seq = m.seq;
    for (const e of eventsOf({ subject: batch, data: m.data })) if (e.subject === subject) found = e.data;
  }
}

/** Every stored event of the subjects matching `filter`, lone or batched (eventsOf), oldest first. */
export async function storedEventsOf(
  jsm: import("@nats-io/jetstream").JetStreamManager,
  filter: string,
  stream = "MIRROR",
): Promise<{ subject: string; id: string; data: unknown; seq: number }[]> {
  const out: { subject: string; id: string; data: unknown; seq: number }[] = [];
  let seq = 0;
  for (;;) {
    const query = { seq: seq + 1, next_by_subj: filter } as unknown as { seq: number };
    const m = await jsm.streams.getMessage(stream, query).catch(() => null);
    if (!m || m.seq <= seq) return out;
    seq = m.seq;
    for (const e of eventsOf({ subject: m.subject, data: m.data, headers: m.header })) out.push({ ...e, seq: m.seq });
  }
}
