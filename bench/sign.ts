/**
 * `sign.verify_us` (issue 25): one event signed as a producer signs it (`signHeaders`: the
 * SHA-256 of the payload, ed25519 over id + subject + digest, base64url) and verified as a
 * consumer verifies it (`KeyringVerifier`: key lookup, decoding, ed25519 verify), in CPU µs
 * per event; beside bare node:crypto ed25519 sign + verify of the same signing bytes.
 * extra.nkeysUs is the same event through the nkeys package's pure-JavaScript ed25519 that
 * this replaced.
 */
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { ed25519, KeyringVerifier, nkeySigner, signHeaders, signingBytes } from "@mirror/bus";
import { repoKey, toCeHeaders } from "@mirror/contracts";
import { nkeys } from "@nats-io/nats-core";
import { decodeUserSeed } from "../packages/bus/src/nkey-codec.js";
import { type Bench, type BenchOptions, figure, interleave, median } from "./figure.js";
import { payloads } from "./snapshots.js";

const PATH = "/bench/sign/repo";

/**
 * CPU µs per iteration of `fn`: the process's CPU time, not the wall clock, so that a shared
 * machine's other load does not count (the loop is synchronous: the time is this thread's).
 */
function cpuUsPer(count: number, fn: (i: number) => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}
const SUBJECT = `mirror.repo.snapshot.${repoKey(PATH)}`;

interface Fixture {
  payload: Uint8Array;
  headers: Record<string, string>;
  seed: Uint8Array;
  publicKey: string;
}

function fixture(): Fixture {
  const kp = nkeys.createUser();
  const headers = toCeHeaders({
    id: "bench-sign-1",
    source: "scanner",
    type: "mirror.repo.snapshot.v1",
    time: new Date().toISOString(),
  });
  return { payload: payloads([PATH])[0] as Uint8Array, headers, seed: kp.getSeed(), publicKey: kp.getPublicKey() };
}

/** µs per event through the bus's signer and verifier. */
function busSignVerify(f: Fixture, count: number): number {
  const signer = nkeySigner(f.seed, "scanner");
  const verifier = new KeyringVerifier({ scanner: f.publicKey }, { require: true });
  const h = { ...f.headers };
  const event = { subject: SUBJECT, header: (n: string) => h[n], payload: f.payload };
  return cpuUsPer(count, (i) => {
    h["ce-id"] = `bench-sign-${i}`;
    signHeaders(signer, h, SUBJECT, f.payload);
    if (!verifier.verify(event).ok) throw new Error("sign.verify_us: a signature did not verify");
  });
}

/** µs per event of bare node:crypto ed25519 over the signing bytes (the keys made once). */
function bareSignVerify(f: Fixture, count: number): number {
  const signer = nkeySigner(f.seed, "scanner");
  const bytes = signingBytes("bench-sign-0", SUBJECT, f.payload);
  const { privateKey, publicKey } = keyObjects(f);
  if (signer.sign(bytes) !== sign(null, bytes, privateKey).toString("base64url"))
    throw new Error("sign.verify_us: the baseline signs differently");
  return cpuUsPer(count, () => {
    const sig = sign(null, bytes, privateKey);
    if (!verify(null, bytes, publicKey, sig)) throw new Error("sign.verify_us: the baseline did not verify");
  });
}

function keyObjects(f: Fixture) {
  const seed = decodeUserSeed(new TextDecoder().decode(f.seed));
  const privateKey = createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
    format: "der",
    type: "pkcs8",
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** µs per event through nkeys, as signing.ts did before issue 25 (a key pair re-derived per call). */
function nkeysSignVerify(f: Fixture, count: number): number {
  return cpuUsPer(count, (i) => {
    const bytes = signingBytes(`bench-sign-${i}`, SUBJECT, f.payload);
    const sig = nkeys.fromSeed(f.seed).sign(bytes);
    if (!nkeys.fromPublic(f.publicKey).verify(bytes, sig)) throw new Error("sign.verify_us: nkeys did not verify");
  });
}

export const signBench: Bench = {
  name: "sign",
  figures: ["sign.verify_us"],
  async run(opts: BenchOptions) {
    const count = opts.quick ? 200 : 5_000;
    const f = fixture();
    const { runs, base } = await interleave(
      opts,
      async (i) => {
        const us = busSignVerify(f, count);
        opts.log?.(`run ${i}: ${us.toFixed(1)} µs per event signed and verified`);
        return us;
      },
      async () => bareSignVerify(f, count),
    );
    const legacy = [nkeysSignVerify(f, opts.quick ? 2 : 20)];
    return [
      figure({
        id: "sign.verify_us",
        unit: "µs",
        runs,
        baseline: "node:crypto ed25519 sign + verify",
        baselineRuns: base,
        goal: { on: "value", op: "<=", limit: 200 },
        note: `one repo snapshot (${f.payload.length} bytes) signed (signHeaders) and verified (KeyringVerifier) with ${ed25519().backend}, ${count} per run, CPU time of this process per event; baseline: bare node:crypto ed25519 sign + verify of the same signing bytes; extra.nkeysUs: the same through nkeys' pure-JavaScript ed25519, as before issue 25`,
        extra: { nkeysUs: median(legacy) },
      }),
    ];
  },
};
