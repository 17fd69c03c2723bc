/**
 * Where a snapshot's latency goes: the times the MIRROR stream stored each snapshot and the
 * `loop.opened` it caused (nats-server's clock), beside when the webhook got it (this process's
 * clock; the same machine's wall clock for both).
 */
import { repoKey, STREAM } from "@mirror/contracts";
import type { JetStreamClient } from "@nats-io/jetstream";
import { quantile } from "./figure.js";

export interface StageLatency {
  /** Snapshot stored -> its loop.opened stored: the loop-detector. */
  detectP50: number;
  detectP99: number;
  /** loop.opened stored -> the webhook received it: the notifier (and the POST). */
  notifyP50: number;
  notifyP99: number;
}

/**
 * Reads the stream from `fromSeq` (the last sequence before the run, + 1) and splits the latency
 * of `paths` (received at `arrivedAt`: epoch ms) into stages.
 * Undefined when a stage of some path is missing from the stream.
 */
export async function stageLatency(
  js: JetStreamClient,
  fromSeq: number,
  paths: string[],
  arrivedAt: (path: string) => number | undefined,
  timeoutMs = 30_000,
): Promise<StageLatency | undefined> {
  const index = new Map(paths.map((p, i) => [repoKey(p), i]));
  const byPath = new Map(paths.map((p, i) => [p, i]));
  const stored = new Float64Array(paths.length).fill(Number.NaN);
  const opened = new Float64Array(paths.length).fill(Number.NaN);
  let missing = paths.length * 2;
  // Every subject (nats-server 2.9 takes no list of filters); the rest is skipped here.
  const consumer = await js.consumers.get(STREAM.name, { opt_start_seq: fromSeq });
  const messages = await consumer.consume();
  const timer = setTimeout(() => messages.stop(), timeoutMs);
  const decoder = new TextDecoder();
  try {
    for await (const m of messages) {
      const at = Number(m.info.timestampNanos) / 1e6;
      let i: number | undefined;
      let into: Float64Array;
      if (m.subject.startsWith("mirror.repo.snapshot.")) {
        i = index.get(m.subject.slice("mirror.repo.snapshot.".length));
        into = stored;
      } else if (m.subject.startsWith("mirror.loop.opened.")) {
        const repo = (JSON.parse(decoder.decode(m.data)) as { loop?: { entity?: { repo?: string } } }).loop?.entity
          ?.repo;
        i = repo === undefined ? undefined : byPath.get(repo);
        into = opened;
      } else continue;
      if (i !== undefined && Number.isNaN(into[i])) {
        into[i] = at;
        if (--missing === 0) break;
      }
    }
  } finally {
    clearTimeout(timer);
    messages.stop();
  }
  if (missing > 0) return undefined;
  const detect = paths.map((_, i) => (opened[i] as number) - (stored[i] as number));
  const notify = paths.map((p, i) => (arrivedAt(p) ?? Number.NaN) - (opened[i] as number));
  if (notify.some(Number.isNaN)) return undefined;
  return {
    detectP50: quantile(detect, 0.5),
    detectP99: quantile(detect, 0.99),
    notifyP50: quantile(notify, 0.5),
    notifyP99: quantile(notify, 0.99),
  };
}
