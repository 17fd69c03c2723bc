import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Signer } from "@mirror/bus";
import { nkeyAuthenticator, nkeys } from "@nats-io/nats-core";
import type { ConnectionOptions } from "@nats-io/transport-node";

export interface Identity {
  auth?: Pick<ConnectionOptions, "authenticator">;
  signer?: Signer;
  publicKey?: string;
}

/** The credential file of a service: bus.credentials, else $MIRROR_IDENTITY_DIR/<name>.nk, else none. */
export function credentialPath(name: string, credentials: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (credentials) return credentials;
  if (env.MIRROR_IDENTITY_DIR) return join(env.MIRROR_IDENTITY_DIR, `${name}.nk`);
  return undefined;
}

/** Loads a service's nkey seed: it authenticates the connection and signs the events. */
export function loadIdentity(name: string, credentials: string | undefined, env: NodeJS.ProcessEnv): Identity {
  const file = credentialPath(name, credentials, env);
  if (!file) return {};
  if (!existsSync(file)) throw new Error(`credentials for "${name}" not found at ${file}`);
  const seed = new TextEncoder().encode(readFileSync(file, "utf8").trim());
  const kp = nkeys.fromSeed(seed);
  return {
    auth: { authenticator: nkeyAuthenticator(seed) },
    signer: { sign: (data) => Buffer.from(kp.sign(data)).toString("base64url") },
    publicKey: kp.getPublicKey(),
  };
}
