import { Bus, type BusManifest, type Signer, streamOptionsOf, type Verifier } from "@mirror/bus";
import type { MirrorConfig } from "@mirror/contracts";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { type Identity, loadServiceIdentity } from "./identity.js";

export interface ConnectOptions {
  config: MirrorConfig;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  registry?: Registry;
  /** Already loaded (runService loads it first to scrub the seed from logs). */
  identity?: Identity;
  signer?: Signer;
  verifier?: Verifier;
  /** false: fail within 5 s when no server answers (CLI commands) instead of waiting forever. */
  waitForServer?: boolean;
  /** The service's manifest: the bus refuses what it does not declare. */
  manifest?: BusManifest;
  /** Never create streams or consumers (a remote probe site: the hub has them, and a leaf node has no JetStream API). */
  noProvisioning?: boolean;
}

/**
 * Connects to the bus as `name` the way every service does: with its nkey from the identity
 * folder when there is one (then it neither creates streams nor consumers: the provisioning
 * identity did), anonymously otherwise (then it provisions what it uses itself). The CLI
 * connects as "operator" through this too.
 */
export async function connectBus(name: string, opts: ConnectOptions): Promise<Bus> {
  const { config } = opts;
  const identity = opts.identity ?? loadServiceIdentity(name, config.bus, opts.env ?? process.env);
  const provisioned = identity.auth !== undefined || opts.noProvisioning === true;
  return Bus.connect({
    name,
    url: config.bus.url,
    log: opts.log,
    registry: opts.registry ?? new Registry(),
    auth: identity.auth,
    signer: opts.signer ?? identity.signer,
    verifier: opts.verifier ?? identity.verifier,
    manageStreams: !provisioned,
    manageConsumers: !provisioned,
    waitForServer: opts.waitForServer,
    manifest: opts.manifest,
    stream: streamOptionsOf(config.bus),
  });
}
