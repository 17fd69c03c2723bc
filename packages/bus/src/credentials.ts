import { nkeyAuthenticator, nkeys } from "@nats-io/nats-core";
import { connect, type ConnectionOptions } from "@nats-io/transport-node";
import { serverList } from "./servers.js";
import { isAuthorizationError } from "./nats-errors.js";

/** How a connection proves its identity to nats-server (BusOptions.auth). */
export type BusAuth = Pick<ConnectionOptions, "authenticator" | "user" | "pass" | "token">;

/** The NATS handshake credentials of an nkey seed (the only use left for the nkeys package). */
export function nkeyAuth(seed: Uint8Array): BusAuth {
  return { authenticator: nkeyAuthenticator(seed) };
}

/** A new nkey user: its seed (`SU...`, the content of `<name>.nk`) and public key (`U...`). */
export function createUserKey(): { seed: string; publicKey: string } {
  const kp = nkeys.createUser();
  return { seed: new TextDecoder().decode(kp.getSeed()), publicKey: kp.getPublicKey() };
}

/** The public key of a user seed; throws when the text is not one. */
export function publicKeyOfSeed(seed: string): string {
  return nkeys.fromSeed(new TextEncoder().encode(seed.trim())).getPublicKey();
}

/** Whether the server at `url` refuses a client without credentials (false when it lets one in or does not answer). */
export async function refusesAnonymous(url: string): Promise<boolean> {
  try {
    const nc = await connect({
      servers: serverList(url),
      maxReconnectAttempts: 0,
      timeout: 3_000,
      name: "mirror-start-probe",
    });
    await nc.close();
    return false;
  } catch (err) {
    return isAuthorizationError(err);
  }
}
