import { type BusConfig, DLQ_STREAM, STREAM } from "@mirror/contracts";
import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  type StreamConfig,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { z } from "zod";
import { isStreamNotFound } from "./nats-errors.js";

/** How the bus keeps its streams (BusOptions.stream). */
export interface StreamOptions {
  maxAgeMs?: number;
  maxBytes?: number;
  duplicateWindowMs?: number;
  /**
   * Replicas of MIRROR, MIRROR_DLQ and every KV bucket (`KV_<bucket>` streams), default 1.
   * Existing streams are updated to it: a 3-node cluster takes them from 1 to 3 in place.
   */
  replicas?: number;
}

/** The stream options of a `bus` config section. */
export function streamOptionsOf(bus: z.output<typeof BusConfig>): StreamOptions {
  return {
    maxAgeMs: bus.stream.maxAge,
    maxBytes: bus.stream.maxBytes,
    duplicateWindowMs: bus.stream.duplicateWindow,
    replicas: bus.replicas,
  };
}

/** Prefix of the stream behind each JetStream KV bucket. */
const KV_PREFIX = "KV_";

/**
 * Creates or updates the MIRROR and MIRROR_DLQ streams, and sets every KV bucket's stream to the
 * same replica count. An update keeps the stream's data: nats-server adds or drops peers.
 */
export async function ensureStreams(jsm: JetStreamManager, s: StreamOptions = {}): Promise<void> {
  const replicas = s.replicas ?? 1;
  const specs = [
    {
      name: STREAM.name,
      subjects: [...STREAM.subjects],
      max_age: nanos(s.maxAgeMs ?? 30 * 86_400_000),
      max_bytes: s.maxBytes ?? 1024 ** 3,
    },
    {
      name: DLQ_STREAM.name,
      subjects: [...DLQ_STREAM.subjects],
      max_age: nanos(30 * 86_400_000),
      max_bytes: 256 * 1024 ** 2,
    },
  ];
  for (const spec of specs) {
    const cfg: Partial<StreamConfig> & { name: string } = {
      ...spec,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(s.duplicateWindowMs ?? 120_000),
      num_replicas: replicas,
    };
    try {
      await jsm.streams.info(spec.name);
      await jsm.streams.update(spec.name, cfg);
    } catch (err) {
      if (isStreamNotFound(err)) await jsm.streams.add(cfg);
      else throw err;
    }
  }
  await ensureKvReplicas(jsm, replicas);
}

/** Sets the replica count of every KV bucket's stream that has another one. */
export async function ensureKvReplicas(jsm: JetStreamManager, replicas: number): Promise<string[]> {
  const changed: string[] = [];
  for await (const info of jsm.streams.list()) {
    if (!info.config.name.startsWith(KV_PREFIX) || info.config.num_replicas === replicas) continue;
    await jsm.streams.update(info.config.name, { ...info.config, num_replicas: replicas });
    changed.push(info.config.name);
  }
  return changed;
}
