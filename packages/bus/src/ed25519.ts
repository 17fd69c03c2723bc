import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Ed25519 over raw keys: libsodium (the sodium-native package's prebuilt addon) where it loads,
 * node:crypto otherwise. Both make the same signatures (ed25519 is deterministic) and accept each
 * other's; libsodium verifies in ~60 µs against OpenSSL 3.0's ~140 µs and signs in ~25 against
 * ~50 (`pnpm bench sign`), and every consumer verifies every event it takes.
 */
export interface Ed25519 {
  readonly backend: "libsodium" | "node:crypto";
  /** A signing function for a 32-byte seed. */
  signer(seed: Uint8Array): (data: Uint8Array) => Buffer;
  /** A verifying function for a 32-byte public key; false for a signature that is not 64 bytes. */
  verifier(publicKey: Uint8Array): (data: Uint8Array, signature: Uint8Array) => boolean;
}

/** The few functions of libsodium's binding used here (sodium-native's own names). */
interface Sodium {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
}

const ADDON = "sodium-native.node";
/** DER prefixes that wrap a raw ed25519 key as PKCS#8 (private) and SPKI (public) for node:crypto. */
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");
const SIGNATURE_BYTES = 64;

/** node:crypto's private key of a raw 32-byte seed. */
export function privateKeyOf(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" });
}

/** The raw 32-byte public key of a raw 32-byte seed. */
export function rawPublicKeyOf(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyOf(seed)).export({ format: "der", type: "spki" });
  return spki.subarray(SPKI_ED25519.length);
}

/** node:crypto's public key of a raw 32-byte key. */
export function publicKeyOf(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: "der", type: "spki" });
}

export const nodeEd25519: Ed25519 = {
  backend: "node:crypto",
  signer(seed) {
    const key = privateKeyOf(seed);
    return (data) => sign(null, data, key);
  },
  verifier(raw) {
    const key = publicKeyOf(raw);
    return (data, sig) => sig.length === SIGNATURE_BYTES && verify(null, data, key, sig);
  },
};

function sodiumEd25519(s: Sodium): Ed25519 {
  return {
    backend: "libsodium",
    signer(seed) {
      const pk = Buffer.alloc(32);
      const sk = Buffer.alloc(64);
      s.crypto_sign_seed_keypair(pk, sk, seed);
      return (data) => {
        const sig = Buffer.allocUnsafe(SIGNATURE_BYTES);
        s.crypto_sign_detached(sig, data, sk);
        return sig;
      };
    },
    verifier(raw) {
      // Checked like node:crypto does: a key that is not a point (it throws there) fails here too.
      publicKeyOf(raw);
      const pk = Buffer.from(raw);
      return (data, sig) => sig.length === SIGNATURE_BYTES && s.crypto_sign_verify_detached(sig, data, pk);
    },
  };
}

/**
 * The addon's file: beside the bundle (`pnpm mirror bundle` copies it there, so a service image
 * needs nothing else), or in the installed package. Only the prebuilt binding is loaded, not the
 * package's JavaScript loader: that loader alone held ~3 MB more per process, and the footprint
 * goals count every MB.
 */
function addonPath(): string | undefined {
  const beside = join(dirname(fileURLToPath(import.meta.url)), ADDON);
  return existsSync(beside) ? beside : sodiumAddonFile();
}

/**
 * The installed sodium-native's prebuilt addon for this platform, if it has one, resolved from
 * `from` (a file or URL; default this module, which a bundle moves: the bundler passes the bus
 * package's own package.json).
 */
export function sodiumAddonFile(from: string = import.meta.url): string | undefined {
  try {
    const pkg = dirname(createRequire(from).resolve("sodium-native/package.json"));
    const file = join(pkg, "prebuilds", `${process.platform}-${process.arch}`, ADDON);
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

let chosen: Ed25519 | undefined;

/**
 * libsodium when its addon loads and agrees with node:crypto on a known signature, node:crypto
 * otherwise (a platform without a prebuild, MIRROR_ED25519=node). Chosen once per process.
 */
export function ed25519(): Ed25519 {
  chosen ??= choose();
  return chosen;
}

function choose(): Ed25519 {
  if (process.env.MIRROR_ED25519 === "node") return nodeEd25519;
  const file = addonPath();
  if (!file) return nodeEd25519;
  try {
    const mod = { exports: {} as Sodium };
    process.dlopen(mod, file);
    const native = sodiumEd25519(mod.exports);
    // A self-check against node:crypto before anything is signed with it.
    const seed = new Uint8Array(32).fill(7);
    const data = Buffer.from("mirror ed25519 self-check");
    const sig = native.signer(seed)(data);
    if (!sig.equals(nodeEd25519.signer(seed)(data)) || !native.verifier(rawPublicKeyOf(seed))(data, sig))
      return nodeEd25519;
    return native;
  } catch {
    return nodeEd25519;
  }
}
