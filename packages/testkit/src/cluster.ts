import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { launcher, type ServerHandle } from "./servers.js";
import { waitFor } from "./wait.js";

/** One nats-server of a cluster: its ports, and kill -9 / restart on the same ports and data. */
export interface ClusterNode extends ServerHandle {
  /** `server_name` (n1, n2, ...): what `$JS.API.STREAM.INFO` names as leader and replicas. */
  readonly name: string;
  /** The route port the other nodes connect to. */
  readonly clusterPort: number;
  /** The HTTP monitoring port (/healthz, /varz, /jsz). */
  readonly monitorPort: number;
  /** Whether its process runs (false between kill()/stop() and restart()). */
  readonly running: boolean;
}

/** A JetStream cluster of nats-server processes on loopback. */
export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's client URL, comma-separated: what `bus.url` / `MIRROR_NATS_URL` take. */
  readonly url: string;
  readonly name: string;
  /** The node whose client port is `port` (e.g. the one a connection is on). */
  nodeByPort(port: number): ClusterNode | undefined;
  /** Waits until every running node answers /healthz (it has a JetStream meta leader and is current). */
  healthy(timeout?: number): Promise<void>;
  /** kill -9 of every node and removal of the data. */
  dispose(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Number of nodes (default 3: a JetStream quorum survives losing one). */
  size?: number;
  /** Cluster name (default "mirror"). */
  name?: string;
  /**
   * More server config for every node, e.g. the identity folder's `accounts.conf` (as text), as
   * the single-node `startNats({ config })` takes it.
   */
  config?: string;
  /** Extra command-line arguments for every node (e.g. ["-DV"]). */
  args?: string[];
}

async function healthz(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return res.ok;
  } catch {
    return false;
  }
}

function nodeConf(
  name: string,
  cluster: string,
  ports: { client: number; route: number; monitor: number },
  routes: number[],
  storeDir: string,
  extra: string,
): string {
  return `server_name: ${JSON.stringify(name)}
listen: "127.0.0.1:${ports.client}"
http: "127.0.0.1:${ports.monitor}"
jetstream {
  store_dir: ${JSON.stringify(storeDir)}
}
cluster {
  name: ${JSON.stringify(cluster)}
  listen: "127.0.0.1:${ports.route}"
  routes: [
${routes.map((p) => `    "nats-route://127.0.0.1:${p}"`).join("\n")}
  ]
}
${extra}
`;
}

/**
 * Starts a JetStream cluster of `size` nats-server processes on free loopback ports (client,
 * route and monitoring port each), every node routed to every other, and waits until each
 * answers /healthz. Use it where a test needs what one server cannot show: replicated streams,
 * a client that moves to another node, a node killed with -9.
 *
 * ```ts
 * const cluster = await startNatsCluster();                 // 3 nodes, cluster "mirror"
 * const env = { MIRROR_NATS_URL: cluster.url };             // "nats://127.0.0.1:p1,nats://...:p2,..."
 * await cluster.nodes[0].kill();                            // kill -9
 * await cluster.nodes[0].restart();                         // same ports, same JetStream data
 * await cluster.healthy();
 * after(() => cluster.dispose());
 * ```
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  // A port picked free can be taken before nats-server binds it (other tests run beside this one): the
  // node exits, and the cluster is made again on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(opts);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function startClusterOnce(opts: NatsClusterOptions): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const clusterName = opts.name ?? "mirror";
  const root = mkdtempSync(join(tmpdir(), "mirror-nats-cluster-"));
  const ports: { client: number; route: number; monitor: number }[] = [];
  for (let i = 0; i < size; i++)
    ports.push({ client: await freePort(), route: await freePort(), monitor: await freePort() });
  const started = await Promise.allSettled(
    ports.map(async (p, i) => {
      const name = `n${i + 1}`;
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      const conf = join(dir, "server.conf");
      const others = ports.filter((_, j) => j !== i).map((o) => o.route);
      writeFileSync(conf, nodeConf(name, clusterName, p, others, join(dir, "js"), opts.config ?? ""));
      let running = false;
      const handle = await launcher(
        name,
        process.env.NATS_SERVER_BIN ?? "nats-server",
        () => ["-c", conf, "-l", join(dir, "server.log"), ...(opts.args ?? [])],
        "nats",
        { port: p.client, dir },
      )();
      running = true;
      const node: ClusterNode = {
        name,
        url: handle.url,
        port: p.client,
        dir,
        clusterPort: p.route,
        monitorPort: p.monitor,
        get running() {
          return running;
        },
        stop: async () => {
          running = false;
          await handle.stop();
        },
        kill: async () => {
          running = false;
          await handle.kill();
        },
        restart: async () => {
          await handle.restart();
          running = true;
        },
        dispose: async () => {
          running = false;
          await handle.kill();
        },
      };
      return node;
    }),
  );
  const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.findIndex((r) => r.status === "rejected");
  if (failed >= 0) {
    await Promise.all(nodes.map((n) => n.dispose()));
    const log = (() => {
      try {
        return readFileSync(join(root, `n${failed + 1}`, "server.log"), "utf8")
          .trim()
          .split("\n")
          .slice(-3)
          .join(" / ");
      } catch {
        return "";
      }
    })();
    rmSync(root, { recursive: true, force: true });
    const reason = (started[failed] as PromiseRejectedResult).reason;
    throw new Error(`${reason instanceof Error ? reason.message : String(reason)}${log ? ` (its log: ${log})` : ""}`);
  }
  const healthy = async (timeout = 30_000) => {
    await waitFor(
      "every running cluster node healthy (JetStream meta leader)",
      async () => (await Promise.all(nodes.filter((n) => n.running).map((n) => healthz(n.monitorPort)))).every(Boolean),
      { timeout, interval: 100 },
    );
  };
  const cluster: NatsCluster = {
    nodes,
    url: nodes.map((n) => n.url).join(","),
    name: clusterName,
    nodeByPort: (port) => nodes.find((n) => n.port === port),
    healthy,
    dispose: async () => {
      await Promise.all(nodes.map((n) => n.dispose()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await healthy();
  } catch (err) {
    await cluster.dispose();
    throw err;
  }
  return cluster;
}
