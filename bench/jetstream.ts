/**
 * `jetstream.raw`: the limit the pipeline is compared with. A bare JetStream publish (with a
 * Nats-Msg-Id, as the bus kit sends) and a durable pull consumer with explicit ack of the same
 * payloads, on the same nats-server, with no validation, no Redis and no HTTP.
 */
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { quantile } from "./figure.js";
import { paced, pool } from "./load.js";

const STREAM = "BENCH_RAW";

export interface LatencyResult {
  p50: number;
  p99: number;
  /** Events that did not arrive before the deadline (counted at the deadline in the quantiles). */
  lost: number;
}

/**
 * A connection named `client` (without nats.js's up-front stack trace per request, as the bus
 * kit connects: the baselines get the client the services have) and a file-backed stream of
 * its own with a 2-minute duplicate window (a Nats-Msg-Id repeat is dropped, as on the MIRROR
 * stream), on the bench's nats-server.
 */
export async function openBenchStream(
  url: string,
  client: string,
  stream: string,
  subjects: string,
): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> {
  const nc = await connect({ servers: url, name: client, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: stream,
    subjects: [subjects],
    storage: StorageType.File,
    duplicate_window: 120_000_000_000,
  });
  return { nc, js: jetstream(nc), jsm };
}

export class RawJetStream {
  private run = 0;
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  static async open(url: string): Promise<RawJetStream> {
    const { nc, js, jsm } = await openBenchStream(url, "bench-raw", STREAM, "bench.raw.>");
    return new RawJetStream(nc, js, jsm);
  }

  /** A durable consumer over this run's subjects, started before anything is published; calls `seen(i)` per message. */
  private async consumer(run: number, seen: (i: number) => void): Promise<{ stop(): void }> {
    const durable = `raw-${run}`;
    await this.jsm.consumers.add(STREAM, {
      durable_name: durable,
      filter_subject: `bench.raw.${run}.>`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: 10_000,
    });
    const messages = await (await this.js.consumers.get(STREAM, durable)).consume({ max_messages: 32 });
    void (async () => {
      for await (const m of messages) {
        m.ack();
        seen(Number(m.subject.slice(m.subject.lastIndexOf(".") + 1)));
      }
    })();
    return { stop: () => void messages.stop() };
  }

  /** Events/s from the first publish (`inFlight` awaited at once) to the last message acked. */
  async throughput(payloads: Uint8Array[], inFlight: number): Promise<number> {
    const run = ++this.run;
    let got = 0;
    let done: () => void = () => {};
    const all = new Promise<void>((r) => (done = r));
    const c = await this.consumer(run, () => {
      if (++got === payloads.length) done();
    });
    const t0 = performance.now();
    await pool(payloads.length, inFlight, (i) =>
      this.js.publish(`bench.raw.${run}.${i}`, payloads[i], { msgID: `raw-${run}-${i}` }),
    );
    await all;
    const perSec = (payloads.length * 1000) / (performance.now() - t0);
    c.stop();
    return perSec;
  }

  /** Publish-to-consume latency (ms) of `payloads` published at `perSec`. */
  async latency(payloads: Uint8Array[], perSec: number, deadlineMs = 30_000): Promise<LatencyResult> {
    const run = ++this.run;
    const sent = new Float64Array(payloads.length);
    const lat: number[] = [];
    let done: () => void = () => {};
    const all = new Promise<void>((r) => (done = r));
    const c = await this.consumer(run, (i) => {
      lat.push(performance.now() - (sent[i] as number));
      if (lat.length === payloads.length) done();
    });
    await paced(payloads.length, perSec, (i) => {
      sent[i] = performance.now();
      return this.js.publish(`bench.raw.${run}.${i}`, payloads[i], { msgID: `raw-${run}-${i}` });
    });
    await Promise.race([all, new Promise((r) => setTimeout(r, deadlineMs).unref())]);
    c.stop();
    const lost = payloads.length - lat.length;
    const all_ = [...lat, ...Array.from({ length: lost }, () => deadlineMs)];
    return { p50: quantile(all_, 0.5), p99: quantile(all_, 0.99), lost };
  }

  async close(): Promise<void> {
    await this.jsm.streams.delete(STREAM).catch(() => undefined);
    await this.nc.close();
  }
}
