import { CE, DLQ_STREAM, STREAM, subjectMatches } from "@mirror/contracts";
import type { JetStreamManager } from "@nats-io/jetstream";
import { BATCH_LIMIT_EVENTS, batchPrefixOf, isBatchSubject, readBatchElement } from "./batch.js";
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
 * skipped, counted under `mirror_bus_messages_total{direction="history"}`. Events that went out
 * in batches (batch.ts) are read out of every stored batch of the filter's contracts, and the
 * later of a batched and a lone event of one subject wins: a rebuild after load reads every batch
 * the stream still holds, not one message per subject.
 */
export async function lastPerSubject(bus: Bus, filter: string): Promise<StoredEvent[]> {
  const jsm = await raw(bus).manager();
  const info = await jsm.streams.info(STREAM.name, { subjects_filter: filter });
  /** Per event subject: where it stands in the stream (seq, then place in its batch), and the event. */
  const latest = new Map<string, { at: number; event: StoredEvent }>();
  const keep = (at: number, event: StoredEvent) => {
    const cur = latest.get(event.subject);
    if (!cur || cur.at < at) latest.set(event.subject, { at, event });
  };
  const count = (outcome: string) => bus.metrics.messages.inc({ subject: filter, direction: "history", outcome });
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    if (isBatchSubject(subject)) {
      await readBatches(bus, jsm, subject, filter, keep, count);
      continue;
    }
    const m = await jsm.streams.getMessage(STREAM.name, { last_by_subj: subject }).catch(() => null);
    if (!m) continue;
    const header = (name: string) => m.header?.get(name) || undefined;
    if (!bus.verifyStored(subject, header, m.data).ok) {
      count("signature");
      continue;
    }
    let data: unknown;
    try {
      data = m.json();
    } catch {
      count("invalid_json");
      continue;
    }
    const headers: Record<string, string> = {};
    if (m.header) for (const [k, v] of m.header) headers[k.toLowerCase()] = v[0] ?? "";
    keep(m.seq * ORDER, { subject, data, source: header(CE.source), header, headers });
  }
  return [...latest.values()].map((v) => v.event);
}

/** Orders a batch's events after its seq: seq * ORDER + place in the batch. */
const ORDER = BATCH_LIMIT_EVENTS + 1;

/** Every stored batch on `subject`, oldest first, each checked as a consumer checks it. */
async function readBatches(
  bus: Bus,
  jsm: JetStreamManager,
  subject: string,
  filter: string,
  keep: (at: number, event: StoredEvent) => void,
  count: (outcome: string) => void,
): Promise<void> {
  const prefix = batchPrefixOf(subject);
  let seq = 0;
  for (;;) {
    // STREAM.MSG.GET with next_by_subj (nats-server 2.9 answers it; nats.js' type leaves it out).
    const query = { seq: seq + 1, next_by_subj: subject } as unknown as { seq: number };
    const m = await jsm.streams.getMessage(STREAM.name, query).catch(() => null);
    if (!m || m.seq <= seq) return;
    seq = m.seq;
    const header = (name: string) => m.header?.get(name) || undefined;
    const verdict = bus.verifyStored(subject, header, m.data);
    if (!verdict.ok) {
      count("signature");
      continue;
    }
    let list: unknown;
    try {
      list = m.json();
    } catch {
      count("invalid_json");
      continue;
    }
    if (!Array.isArray(list) || list.length > BATCH_LIMIT_EVENTS) {
      count("invalid");
      continue;
    }
    const source = header(CE.source) ?? "anonymous";
    for (const [i, el] of list.entries()) {
      const ev = readBatchElement(el, i, prefix, source);
      if (typeof ev === "string") {
        count("invalid");
        continue;
      }
      if (!subjectMatches(filter, ev.subject)) continue;
      if (verdict.signer && bus.verifier?.permits && !bus.verifier.permits(verdict.signer, ev.subject)) {
        count("signature");
        continue;
      }
      const headers: Record<string, string> = {
        [CE.specversion]: "1.0",
        [CE.id]: ev.id,
        [CE.source]: ev.source,
        [CE.type]: ev.type,
        [CE.time]: ev.time,
        [CE.subject]: ev.token,
        [CE.contentType]: "application/json",
        ...ev.trace,
      };
      keep(m.seq * ORDER + i + 1, {
        subject: ev.subject,
        data: ev.data,
        source: ev.source,
        header: (name) => headers[name.toLowerCase()] || undefined,
        headers,
      });
    }
  }
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
