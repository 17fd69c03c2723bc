/**
 * `busChain`: the floor under `pipeline.throughput`. The bus traffic of one pipeline event and
 * nothing else: a snapshot published with a Nats-Msg-Id, a durable consumer that publishes
 * `opened`, acks, asks a model by request/reply and publishes `updated`, a durable consumer of
 * both loop events that POSTs `opened` to the same webhook receiver and publishes a receipt.
 * Each stage is a worker thread with its own connection (bench/chain-stage.mjs), so the chain
 * can use both cores as the mesh's processes do. What the mesh spends beyond this is Redis,
 * validation and the services' own logic.
 */
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Hook } from "./hook.js";
import { openBenchStream } from "./jetstream.js";

const STREAM = "BENCH_CHAIN";
const STAGE = fileURLToPath(new URL("./chain-stage.mjs", import.meta.url));
/** Payload bytes of the mesh's events for a bench snapshot (read off its stream; CloudEvents headers not counted). */
const BYTES = { opened: 713, updated: 1_161, receipt: 270 };

/** One run of the chain: publish snapshots into it (each path's POST arrives at the hook), then stop it. */
export interface ChainRun {
  publish(payload: Uint8Array): Promise<unknown>;
  stop(): Promise<void>;
}

export class BusChain {
  private run = 0;
  private constructor(
    private readonly url: string,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
  ) {}

  static async open(url: string): Promise<BusChain> {
    const { nc, js } = await openBenchStream(url, "bench-chain", STREAM, "chain.>");
    return new BusChain(url, nc, js);
  }

  /** Starts the stages of one run (worker threads, their consumers ready); the run's snapshots go through `publish`. */
  async start(hook: Hook): Promise<ChainRun> {
    const run = ++this.run;
    const workers = ["model", "detector", "notifier"].map(
      (stage) =>
        new Worker(STAGE, {
          workerData: { stage, url: this.url, stream: STREAM, run, hookUrl: hook.url, bytes: BYTES },
        }),
    );
    const stop = async () => void (await Promise.all(workers.map((w) => w.terminate())));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once("error", reject);
              w.on("message", (m: { ready?: boolean; error?: string }) => {
                if (m.ready) resolve();
                if (m.error) reject(new Error(`bus chain stage: ${m.error}`));
              });
            }),
        ),
      );
    } catch (err) {
      await stop();
      throw err;
    }
    let n = 0;
    return {
      publish: (payload) => this.js.publish(`chain.${run}.snap.${n}`, payload, { msgID: `chain:${run}:${n++}` }),
      stop,
    };
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
