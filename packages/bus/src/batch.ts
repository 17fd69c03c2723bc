import { createHash } from "node:crypto";
import { CE } from "@mirror/contracts";

/**
 * CloudEvents' batched content mode on the bus (issue 25): under load a producer puts many events
 * of one contract in one NATS message, `application/cloudevents-batch+json`, a JSON array of
 * structured-mode CloudEvents, signed once. It goes on `<prefix>.~batch`, which every filter of
 * the contract (`<prefix>.>`) matches and no entity token can be (subjectToken() keeps only
 * `[A-Za-z0-9_-]`). Each event keeps its own id, subject token, time and trace context; the
 * consumer hands them to the handler one by one, so handlers never see a batch. A single event
 * still goes out alone, at once: batches only form behind publishes already in flight.
 */
export const BATCH_TOKEN = "~batch";
export const BATCH_CONTENT_TYPE = "application/cloudevents-batch+json";
/** Events and bytes (of their JSON) per batch: well under nats-server's 1 MB max_payload. */
export const BATCH_MAX_EVENTS = 64;
export const BATCH_MAX_BYTES = 256 * 1024;
/** What a consumer accepts in one batch before it refuses the message as a whole. */
export const BATCH_LIMIT_EVENTS = 1_000;
/** Publishes of one contract that go out one by one before the next wait for a batch. */
export const SINGLES_IN_FLIGHT = 4;

export const batchSubjectOf = (prefix: string): string => `${prefix}.${BATCH_TOKEN}`;

export function isBatchSubject(subject: string): boolean {
  return subject.endsWith(`.${BATCH_TOKEN}`);
}

/** The contract prefix a batch subject carries (`mirror.loop.opened.~batch` -> `mirror.loop.opened`). */
export function batchPrefixOf(subject: string): string {
  return subject.slice(0, -BATCH_TOKEN.length - 1);
}

/** One event of a batch as the producer hands it over: its attributes and its data as JSON text. */
export interface OutgoingEvent {
  id: string;
  source: string;
  type: string;
  /** The subject token (the entity); the NATS subject is `<prefix>.<token>`. */
  token: string;
  time: string;
  dataJson: string;
  traceparent?: string;
  tracestate?: string;
}

/** The batch's body: the events as structured CloudEvents, data spliced in as the JSON it already is. */
export function encodeBatch(events: readonly OutgoingEvent[]): string {
  const parts = events.map((e) => {
    const attrs: Record<string, string> = {
      specversion: "1.0",
      id: e.id,
      source: e.source,
      type: e.type,
      subject: e.token,
      time: e.time,
      datacontenttype: "application/json",
    };
    if (e.traceparent) attrs.traceparent = e.traceparent;
    if (e.tracestate) attrs.tracestate = e.tracestate;
    const head = JSON.stringify(attrs);
    return `${head.slice(0, -1)},"data":${e.dataJson}}`;
  });
  return `[${parts.join(",")}]`;
}

/**
 * The batch's Nats-Msg-Id (and ce-id, which its signature covers): derived from its events' ids,
 * so the same batch retried is the same message to JetStream's de-duplication.
 */
export function batchIdOf(events: readonly { id: string }[]): string {
  const h = createHash("sha256");
  for (const e of events) h.update(e.id).update("\n");
  return `batch:${h.digest("base64url").slice(0, 32)}`;
}

/** One event read back out of a batch, checked against the batch it came in. */
export interface IncomingEvent {
  index: number;
  id: string;
  source: string;
  type: string;
  token: string;
  /** `<prefix>.<token>`: the subject the event would have had alone. */
  subject: string;
  time: string;
  data: unknown;
  /** Its trace context (`traceparent`, `tracestate`), if it carries one. */
  trace: Record<string, string> | undefined;
}

/** One NATS subject token: no separator, no wildcard, no white space. */
export const ONE_TOKEN = /^[^.*>\s]{1,256}$/;

/**
 * Checks one element of a batch: the CloudEvents attributes it must have, a subject token that
 * names one entity under the batch's prefix, and the batch's own source (an event in a batch
 * claims the identity that signed the batch, no other). A string saying what is wrong, else the
 * event.
 */
export function readBatchElement(
  el: unknown,
  index: number,
  prefix: string,
  batchSource: string,
): IncomingEvent | string {
  if (el === null || typeof el !== "object" || Array.isArray(el)) return `event ${index} is not an object`;
  const e = el as Record<string, unknown>;
  if (e.specversion !== "1.0") return `event ${index}: specversion is not "1.0"`;
  for (const k of ["id", "source", "type", "subject", "time"] as const)
    if (typeof e[k] !== "string" || !(e[k] as string)) return `event ${index}: ${k} is missing or not a string`;
  if (e.datacontenttype !== undefined && e.datacontenttype !== "application/json")
    return `event ${index}: datacontenttype ${JSON.stringify(e.datacontenttype).slice(0, 80)} is not application/json`;
  if (!("data" in e)) return `event ${index}: data is missing`;
  const token = e.subject as string;
  if (!ONE_TOKEN.test(token) || token === BATCH_TOKEN)
    return `event ${index}: subject ${JSON.stringify(token.slice(0, 80))} is not one subject token`;
  if (e.source !== batchSource)
    return `event ${index}: source "${String(e.source).slice(0, 80)}" is not the batch's ("${batchSource}")`;
  let trace: Record<string, string> | undefined;
  for (const k of [CE.traceparent, CE.tracestate]) {
    const v = e[k];
    if (typeof v === "string" && v) (trace ??= {})[k] = v;
  }
  return {
    index,
    id: e.id as string,
    source: batchSource,
    type: e.type as string,
    token,
    subject: `${prefix}.${token}`,
    time: e.time as string,
    data: e.data,
    trace,
  };
}
