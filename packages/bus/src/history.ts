import { CE, DLQ_STREAM, STREAM } from "@mirror/contracts";
import type { BusCore as Bus } from "./core.js";
import { raw } from "./raw.js";

/** One event read back from the stream: its subject, its JSON, its producer and a header getter. */
export interface StoredEvent {
  subject: string;
  data: unknown;
  /** `ce-source` of the event, if it has one. */
  source: string | undefined;
  header(name: string): string | undefined;
  /** Every header, names lower-cased: the trace context a replay continues (withConsumerSpan). */
  headers: Record<string, string>;
}

/**
 * The last stored event of every subject matching `filter` in the MIRROR stream (stream info and
 * last-by-subject reads: `readsHistory` in the identity table). Each is verified as a consumed
 * event is: a forged or unsigned one (where signatures are required) and one that is not JSON are
 * skipped, counted under `mirror_bus_messages_total{direction="history"}`.
 */
export async function lastPerSubject(bus: Bus, filter: string): Promise<StoredEvent[]> {
  const jsm = await raw(bus).manager();
  const info = await jsm.streams.info(STREAM.name, { subjects_filter: filter });
  const out: StoredEvent[] = [];
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const m = await jsm.streams.getMessage(STREAM.name, { last_by_subj: subject }).catch(() => null);
    if (!m) continue;
    const header = (name: string) => m.header?.get(name) || undefined;
    if (!bus.verifyStored(subject, header, m.data).ok) {
      bus.metrics.messages.inc({ subject: filter, direction: "history", outcome: "signature" });
      continue;
    }
    let data: unknown;
    try {
      data = m.json();
    } catch {
      bus.metrics.messages.inc({ subject: filter, direction: "history", outcome: "invalid_json" });
      continue;
    }
    const headers: Record<string, string> = {};
    if (m.header) for (const [k, v] of m.header) headers[k.toLowerCase()] = v[0] ?? "";
    out.push({ subject, data, source: header(CE.source), header, headers });
  }
  return out;
}

/**
 * Scatter-gather: sends each subject (no payload) with a reply subject in this connection's own
 * inbox, and hands every reply that arrives within `windowMs` to `onReply`. For discovery over
 * `$SRV.PING|INFO|STATS`, where every member answers and nobody knows how many there are.
 */
export async function gather(
  bus: Bus,
  subjects: readonly string[],
  windowMs: number,
  onReply: (data: Uint8Array) => void,
): Promise<void> {
  const inbox = bus.inbox();
  const sub = raw(bus).nc.subscribe(inbox, {
    callback: (err, msg) => {
      if (!err) onReply(msg.data);
    },
  });
  try {
    for (const subject of subjects) raw(bus).nc.publish(subject, undefined, { reply: inbox });
    await raw(bus).nc.flush();
    await new Promise((r) => setTimeout(r, windowMs));
  } finally {
    sub.unsubscribe();
  }
}

/**
 * Reads the MIRROR and MIRROR_DLQ streams' state into `mirror_jetstream_stream_*` (an identity
 * with `readsHistory` may; a refusal or an outage only leaves the figures as they were).
 */
export async function reportStreams(bus: Bus): Promise<void> {
  const jsm = await raw(bus).manager();
  for (const name of [STREAM.name, DLQ_STREAM.name]) {
    const info = await jsm.streams.info(name).catch(() => null);
    if (info) bus.metrics.recordStream(name, info.state);
  }
}
