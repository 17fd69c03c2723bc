import { sign } from "node:crypto";
import { type Authenticator, nkeys } from "@nats-io/nats-core";
import { connect, type ConnectionOptions } from "@nats-io/transport-node";
import { serverList } from "./servers.js";
import { isAuthorizationError } from "./nats-errors.js";
import { nkeyKeyPair } from "./signing.js";

/** How a connection proves its identity to nats-server (BusOptions.auth). */
export type BusAuth = Pick<ConnectionOptions, "authenticator" | "user" | "pass" | "token">;

/**
 * The NATS handshake credentials of an nkey seed: the server's nonce signed with node:crypto's
 * ed25519, as nats.js' nkeyAuthenticator signs it (the same bytes, standard base64), without its
 * pure-JavaScript ed25519, which re-derives the key pair on every connection and cost seconds of
 * CPU per handshake on a loaded machine (a handshake past the server's auth timeout is refused and
 * tried again, at the same cost).
 */
export function nkeyAuth(seed: Uint8Array | string, identity?: string): BusAuth {
  const { privateKey, publicKey } = nkeyKeyPair(seed, identity);
  const authenticator: Authenticator = (nonce?: string) => ({
    nkey: publicKey,
    sig: nonce ? sign(null, Buffer.from(nonce, "utf8"), privateKey).toString("base64") : "",
  });
  return { authenticator };
}

/** A new nkey user: its seed (`SU...`, the content of `<name>.nk`) and public key (`U...`). */
export function createUserKey(): { seed: string; publicKey: string } {
  const kp = nkeys.createUser();
  return { seed: new TextDecoder().decode(kp.getSeed()), publicKey: kp.getPublicKey() };
}

/** The public key of a user seed; throws when the text is not one. */
export function publicKeyOfSeed(seed: string): string {
  return nkeyKeyPair(seed.trim()).publicKey;
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
