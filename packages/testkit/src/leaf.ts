import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { freePort } from "./ports.js";
import { launcher, type ServerHandle, startNats } from "./servers.js";
import { waitFor } from "./wait.js";

/** A hub nats-server (JetStream) that accepts leaf node connections on `leafPort`. */
export interface NatsHub extends ServerHandle {
  readonly leafPort: number;
}

/**
 * Starts a hub for remote probe sites: a JetStream nats-server with a `leafnodes` listener on
 * loopback. `config` is more server config (e.g. accounts.conf as text, or a leafnodes
 * `authorization` inside `leafnodes`: then pass `leafnodes` yourself with `{LEAF_PORT}`).
 */
export async function startNatsHub(opts: { config?: string } = {}): Promise<NatsHub> {
  const leafPort = await freePort();
  const extra = opts.config ?? "";
  const config = extra.includes("leafnodes")
    ? extra.replaceAll("{LEAF_PORT}", String(leafPort))
    : `leafnodes { listen: "127.0.0.1:${leafPort}" }\n${extra}`;
  const hub = await startNats({ config });
  return Object.assign(hub, { leafPort });
}

/** A leaf nats-server, its monitoring port, and how many leaf connections it has. */
export interface NatsLeaf extends ServerHandle {
  readonly monitorPort: number;
  /** Leaf connections up now (from its /leafz). */
  leafConnections(): Promise<number>;
}

async function leafz(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/leafz`, { signal: AbortSignal.timeout(1_000) });
    const body = (await res.json()) as { leafnodes?: number };
    return body.leafnodes ?? 0;
  } catch {
    return 0;
  }
}

/**
 * Starts a leaf node nats-server (no JetStream of its own: JetStream API and stream subjects are
 * the hub's) that connects to the hub's leaf port, as a remote probe site runs it. `remote` is the
 * leaf URL (default `nats-leaf://127.0.0.1:<leafPort>`, put credentials in it when the hub needs
 * them); `config` is more server config (the site's accounts), or the whole config when it has its
 * own `leafnodes` block; `account` binds the leaf connection to that local account. Ready when the
 * leaf connection is up.
 */
export async function startNatsLeaf(
  hub: { leafPort: number },
  opts: { remote?: string; config?: string; account?: string; timeout?: number } = {},
): Promise<NatsLeaf> {
  const monitorPort = await freePort();
  const remote = opts.remote ?? `nats-leaf://127.0.0.1:${hub.leafPort}`;
  const account = opts.account ? `, account: ${JSON.stringify(opts.account)}` : "";
  const handle = await launcher(
    "nats-leaf",
    process.env.NATS_SERVER_BIN ?? "nats-server",
    (port, dir) => {
      const conf = join(dir, "leaf.conf");
      // A config with its own leafnodes block (a site's generated leaf.conf) is used as it is.
      const own = opts.config?.includes("leafnodes") === true;
      const leafnodes = `leafnodes { reconnect: 1, remotes: [ { url: ${JSON.stringify(remote)}${account} } ] }`;
      writeFileSync(conf, own ? (opts.config as string) : `${opts.config ?? ""}\n${leafnodes}\n`);
      return ["-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort), "-c", conf];
    },
    "nats",
  )();
  await waitFor("the leaf node connection to the hub", async () => (await leafz(monitorPort)) > 0, {
    timeout: opts.timeout ?? 15_000,
  });
  return Object.assign(handle, { monitorPort, leafConnections: () => leafz(monitorPort) });
}
