import { RepoGone, RepoSnapshot } from "@mirror/contracts";
import { parseConfig, runService, type RunningService } from "@mirror/kit";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startScanner } from "../src/app.js";

/** Every repo event seen on the bus, in stream order. */
export interface Observed {
  snapshots: RepoSnapshot[];
  gone: RepoGone[];
  close(): Promise<void>;
}

/** Reads every `mirror.repo.>` event from the MIRROR stream with an ordered consumer (no state left behind). */
export async function observeRepos(natsUrl: string): Promise<Observed> {
  const nc: NatsConnection = await connect({ servers: natsUrl });
  const js = jetstream(nc);
  const snapshots: RepoSnapshot[] = [];
  const gone: RepoGone[] = [];
  const { waitFor } = await import("@mirror/testkit");
  const consumer = await waitFor(
    "MIRROR stream",
    () => js.consumers.get("MIRROR", { filter_subjects: "mirror.repo.>" }).catch(() => undefined),
    { timeout: 10_000 },
  );
  const messages = await consumer.consume();
  void (async () => {
    for await (const m of messages) {
      if (m.subject.startsWith("mirror.repo.snapshot.")) snapshots.push(RepoSnapshot.parse(m.json()));
      else if (m.subject.startsWith("mirror.repo.gone.")) gone.push(RepoGone.parse(m.json()));
    }
  })();
  return {
    snapshots,
    gone,
    close: async () => {
      await messages.close();
      await nc.close();
    },
  };
}

const silent = { write: () => true } as never;

/** Runs the scanner in-process against the given servers and a mirror.yaml text. */
export async function runScanner(
  yaml: string,
  servers: { nats: string; redis: string },
  configFile?: string,
): Promise<RunningService> {
  const env = { MIRROR_NATS_URL: servers.nats, MIRROR_REDIS_URL: servers.redis };
  const config = parseConfig(yaml, env);
  return runService(
    { name: "scanner", port: (c) => c.scanner.port, start: startScanner },
    { config, port: 0, logDest: silent, ...(configFile ? { env: { ...env, MIRROR_CONFIG: configFile } } : {}) },
  );
}

/** The latest snapshot of the repo at `path`. */
export function latest(o: Observed, path: string): RepoSnapshot | undefined {
  return o.snapshots.filter((s) => s.path === path).at(-1);
}
