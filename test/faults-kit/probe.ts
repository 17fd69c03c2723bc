// A test's own view of the bus: raw publishes (garbage included), whole-stream reads, consumer lag.
// It connects like an outside client, so nothing here goes through the code under test.
import { identitiesOf, inboxPrefixOf } from "@mirror/bus";
import { MANIFESTS } from "../mesh-services.js";
import { DLQ_STREAM, STREAM } from "@mirror/contracts";
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection, nkeyAuthenticator } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { waitFor } from "@mirror/testkit";
import { SERVICES } from "./mesh.js";

export interface StoredMsg {
  subject: string;
  seq: number;
  headers: Record<string, string>;
  data: Uint8Array;
  json: unknown;
}

export interface Probe {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** JetStream publish (acked, retried on the same msg id until the deadline): nothing is lost to an outage. */
  publish(
    subject: string,
    payload: Uint8Array | string,
    opts?: { id?: string; headers?: Record<string, string> },
  ): Promise<void>;
  /** Every stored message of `stream` matching `filter`, oldest first. */
  read(stream: string, filter: string): Promise<StoredMsg[]>;
  /** Per durable consumer of MIRROR: messages not yet delivered plus not yet acked. */
  lag(): Promise<Record<string, number>>;
  dlq(): Promise<StoredMsg[]>;
  close(): Promise<void>;
}

function toStored(m: JsMsg): StoredMsg {
  const headers: Record<string, string> = {};
  if (m.headers) for (const [k, v] of m.headers) headers[k] = v[0] ?? "";
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(m.data));
  } catch {
    json = undefined;
  }
  return { subject: m.subject, seq: m.seq, headers, data: m.data, json };
}

/** `seed`: the operator's nkey seed, on a server that refuses anonymous clients (its inbox prefix then is the operator's). */
export async function openProbe(url: string, opts: { seed?: string } = {}): Promise<Probe> {
  const auth = opts.seed
    ? {
        authenticator: nkeyAuthenticator(new TextEncoder().encode(opts.seed.trim())),
        inboxPrefix: inboxPrefixOf("operator"),
      }
    : {};
  const nc = await connect({
    servers: url,
    name: "fault-probe",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    ...auth,
  });
  const js = jetstream(nc, { timeout: 5_000 });
  const jsm = await jetstreamManager(nc, { timeout: 5_000 });
  const publish: Probe["publish"] = async (subject, payload, opts = {}) => {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
    const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    await waitFor(
      `publish to ${subject}`,
      async () => {
        await js.publish(subject, data, { msgID: opts.id, headers: h, timeout: 5_000 });
        return true;
      },
      { timeout: 60_000, interval: 250 },
    );
  };
  const read: Probe["read"] = async (stream, filter) => {
    const info = await jsm.streams.info(stream, { subjects_filter: filter });
    const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    if (total === 0) return [];
    const out: StoredMsg[] = [];
    const consumer = await js.consumers.get(stream, { filter_subjects: filter });
    const iter = await consumer.consume({ max_messages: 500 });
    const timer = setTimeout(() => iter.stop(), 60_000);
    for await (const m of iter) {
      out.push(toStored(m));
      if (out.length >= total && m.info.pending === 0) break;
    }
    clearTimeout(timer);
    iter.stop();
    return out;
  };
  const lag: Probe["lag"] = async () => {
    const out: Record<string, number> = {};
    for (const c of await jsm.consumers.list(STREAM.name).next()) {
      if (!c.config.durable_name) continue;
      out[c.config.durable_name] = c.num_pending + c.num_ack_pending;
    }
    return out;
  };
  return {
    nc,
    js,
    jsm,
    publish,
    read,
    lag,
    dlq: () => read(DLQ_STREAM.name, `${DLQ_STREAM.subjects[0]}`),
    close: async () => {
      await nc.close().catch(() => undefined);
    },
  };
}

/** The durable consumers of the named services (the provisioning makes every service's, running or not). */
export function durablesOf(services: readonly string[]): Set<string> {
  return new Set(
    identitiesOf(MANIFESTS)
      .filter((s) => services.includes(s.name))
      .flatMap((s) => s.consumes.map((c) => c.durable)),
  );
}

/** Waits until every durable consumer of the running services has nothing pending and nothing unacked. */
export async function waitLagZero(
  probe: Probe,
  timeout = 120_000,
  services: readonly string[] = SERVICES,
): Promise<Record<string, number>> {
  let last: Record<string, number> = {};
  const durables = durablesOf(services);
  await waitFor(
    "consumer lag back to zero",
    async () => {
      last = Object.fromEntries(Object.entries(await probe.lag()).filter(([d]) => durables.has(d)));
      return Object.keys(last).length > 0 && Object.values(last).every((n) => n === 0);
    },
    { timeout, interval: 250 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; lag: ${JSON.stringify(last)}`);
  });
  return last;
}
