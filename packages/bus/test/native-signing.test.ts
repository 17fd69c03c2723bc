import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  Bus,
  ed25519,
  KeyringVerifier,
  nodeEd25519,
  nkeyAuth,
  nkeySigner,
  publicKeyObject,
  type Signer,
  SigningKeyError,
  signHeaders,
  signingBytes,
  sodiumAddonFile,
} from "@mirror/bus";
import { DeadLetter, heartbeat, SIG_HEADERS, toCeHeaders } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { type ServerHandle, startNats, waitFor } from "@mirror/testkit";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type Authenticator, headers, nkeyAuthenticator, nkeys } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import fc from "fast-check";
import { Registry } from "prom-client";
import { decodeUserPublicKey, decodeUserSeed, encodeUserPublicKey, NkeyDecodeError } from "../src/nkey-codec.js";

const silent = createLogger("test", { write: () => true } as never, "silent");
const te = new TextEncoder();

/** The signer services ran before node:crypto: nkeys' pure-JavaScript ed25519. */
function legacySigner(seed: Uint8Array): Signer {
  const kp = nkeys.fromSeed(seed);
  return { publicKey: kp.getPublicKey(), sign: (data) => Buffer.from(kp.sign(data)).toString("base64url") };
}

function signedEvent(signer: Signer, subject: string, payload: string, id = "e-1") {
  const h: Record<string, string> = toCeHeaders({ id, source: "scanner", type: "t", time: new Date().toISOString() });
  signHeaders(signer, h, subject, te.encode(payload));
  return { h, event: { subject, header: (n: string) => h[n], payload: te.encode(payload) } };
}

test("node:crypto and nkeys make the same keys and signatures, and each verifies the other's", () => {
  const kp = nkeys.createUser();
  const native = nkeySigner(kp.getSeed(), "scanner");
  const legacy = legacySigner(kp.getSeed());
  assert.equal(native.publicKey, kp.getPublicKey(), "the same public nkey from the seed");
  const bytes = signingBytes("e-1", "mirror.repo.snapshot.a", te.encode('{"x":1}'));
  // ed25519 is deterministic: the same seed signs the same bytes identically.
  assert.equal(native.sign(bytes), legacy.sign(bytes));
  // An old (nkeys) producer verified by a new consumer.
  const verifier = new KeyringVerifier({ scanner: kp.getPublicKey() }, { require: true });
  assert.deepEqual(verifier.verify(signedEvent(legacy, "mirror.repo.snapshot.a", '{"x":1}').event), {
    ok: true,
    signer: "scanner",
  });
  // A new producer verified by an old (nkeys) consumer.
  const { h } = signedEvent(native, "mirror.repo.snapshot.a", '{"x":2}');
  const sig = Buffer.from(h[SIG_HEADERS.signature] as string, "base64url");
  assert.equal(
    nkeys
      .fromPublic(h[SIG_HEADERS.key] as string)
      .verify(signingBytes("e-1", "mirror.repo.snapshot.a", te.encode('{"x":2}')), sig),
    true,
  );
  assert.equal(
    nkeys
      .fromPublic(h[SIG_HEADERS.key] as string)
      .verify(signingBytes("e-1", "mirror.repo.snapshot.a", te.encode('{"x":3}')), sig),
    false,
  );
});

test("libsodium signs as node:crypto does, each verifies the other's, and a changed byte fails both", () => {
  // The machines MirrorOS runs on (linux x64 and arm64) have sodium-native's prebuilt addon: a
  // silent fallback to node:crypto there would double the cost of every verify.
  if (process.platform === "linux" && ["x64", "arm64"].includes(process.arch)) {
    assert.ok(sodiumAddonFile(), "sodium-native ships a prebuilt addon for this platform");
    assert.equal(ed25519().backend, "libsodium");
  }
  const native = ed25519();
  for (let i = 0; i < 20; i++) {
    const kp = nkeys.createUser();
    const seed = decodeUserSeed(new TextDecoder().decode(kp.getSeed()));
    const pub = decodeUserPublicKey(kp.getPublicKey());
    const data = signingBytes(`e-${i}`, "mirror.loop.opened.x", te.encode(JSON.stringify({ i })));
    const a = native.signer(seed)(data);
    const b = nodeEd25519.signer(seed)(data);
    assert.deepEqual(a, b, "ed25519 is deterministic: the same signature from both");
    assert.equal(native.verifier(pub)(data, b), true);
    assert.equal(nodeEd25519.verifier(pub)(data, a), true);
    assert.equal(Buffer.from(nkeys.fromSeed(kp.getSeed()).sign(data)).equals(a), true, "and from nkeys");
    const changed = Uint8Array.from(data);
    changed[i % changed.length] ^= 1;
    assert.equal(native.verifier(pub)(changed, a), false);
    assert.equal(nodeEd25519.verifier(pub)(changed, a), false);
    assert.equal(native.verifier(pub)(data, a.subarray(0, 63)), false, "a short signature is refused, not thrown");
  }
});

test("the nkey codec agrees with nkeys on every key and refuses whatever is not one, with its own error", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
      const text = encodeUserPublicKey(raw);
      assert.equal(nkeys.fromPublic(text).getPublicKey(), text, "nkeys accepts the encoding");
      assert.deepEqual(decodeUserPublicKey(text), raw);
    }),
  );
  for (let i = 0; i < 20; i++) {
    const kp = nkeys.createUser();
    assert.equal(decodeUserSeed(new TextDecoder().decode(kp.getSeed())).length, 32);
    assert.equal(nkeySigner(kp.getSeed()).publicKey, kp.getPublicKey(), "the seed decodes to the key nkeys derives");
  }
  const seedLike = fc.stringMatching(/^S[A-Z2-7]{0,70}$/);
  fc.assert(
    fc.property(fc.oneof(fc.string(), seedLike, fc.stringMatching(/^U[A-Z2-7]{55}$/)), (text) => {
      for (const decode of [decodeUserSeed, decodeUserPublicKey]) {
        try {
          assert.equal(decode(text).length, 32);
        } catch (err) {
          assert.ok(err instanceof NkeyDecodeError, `${decode.name}(${JSON.stringify(text)}) threw ${err}`);
        }
      }
    }),
  );
});

test("a key file that is not a user seed and a public key that does not decode: a SigningKeyError naming the identity", () => {
  const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
  // One character changed: base32 still, the checksum no longer matches.
  const corrupt = `${seed.slice(0, 10)}${seed[10] === "A" ? "B" : "A"}${seed.slice(11)}`;
  const account = new TextDecoder().decode(nkeys.createAccount().getSeed());
  for (const bad of [corrupt, account, "not a seed", ""]) {
    assert.throws(
      () => nkeySigner(te.encode(bad), "scanner"),
      (err: unknown) =>
        err instanceof SigningKeyError &&
        err.code === "MIRROR_ERR_SIGNING_KEY" &&
        err.identity === "scanner" &&
        /"scanner"/.test(err.message),
      JSON.stringify(bad),
    );
  }
  const pub = nkeys.createUser().getPublicKey();
  const badPub = `${pub.slice(0, 20)}${pub[20] === "A" ? "B" : "A"}${pub.slice(21)}`;
  for (const bad of [badPub, nkeys.createAccount().getPublicKey(), "UNOTAKEY"]) {
    assert.throws(
      () => new KeyringVerifier({ scanner: pub, notifier: bad }, { require: true }),
      (err: unknown) =>
        err instanceof SigningKeyError &&
        err.code === "MIRROR_ERR_SIGNING_KEY" &&
        err.identity === "notifier" &&
        /"notifier"/.test(err.message),
    );
    assert.throws(() => publicKeyObject("notifier", bad), SigningKeyError);
  }
});

test("a signature of the wrong length or not base64url is refused with a reason naming the identity", () => {
  const signer = nkeySigner(nkeys.createUser().getSeed(), "scanner");
  const verifier = new KeyringVerifier({ scanner: signer.publicKey }, { require: true });
  const { h, event } = signedEvent(signer, "mirror.repo.snapshot.a", "{}");
  const good = h[SIG_HEADERS.signature] as string;
  for (const sig of [good.slice(0, 40), `${good}AAAA`, `${good.slice(0, -2)}!!`, "x"]) {
    h[SIG_HEADERS.signature] = sig;
    const r = verifier.verify(event);
    assert.equal(r.ok, false, sig);
    assert.match(r.ok ? "" : r.reason, /signature of "scanner"/);
  }
  h[SIG_HEADERS.signature] = good;
  assert.equal(verifier.verify(event).ok, true);
});

let nats: ServerHandle;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats.dispose();
});

test("a consumer dead-letters an event whose signature has the wrong length, and keeps handling signed ones", async () => {
  const signer = nkeySigner(nkeys.createUser().getSeed(), "scanner");
  const verifier = new KeyringVerifier({ scanner: signer.publicKey }, { require: true });
  const producer = await Bus.connect({ name: "scanner", url: nats.url, log: silent, registry: new Registry(), signer });
  const consumer = await Bus.connect({
    name: "short-sig",
    url: nats.url,
    log: silent,
    registry: new Registry(),
    verifier,
  });
  const raw = await connect({ servers: nats.url });
  const seen: string[] = [];
  try {
    consumer.consume(heartbeat, "short-sig", async (d) => void seen.push(d.name), {
      filter: "mirror.heartbeat.short.>",
    });
    const payload = JSON.stringify({ name: "short", kind: "success", at: new Date().toISOString() });
    const h = headers();
    const ce = toCeHeaders({ id: "short-1", source: "scanner", type: heartbeat.type, time: new Date().toISOString() });
    signHeaders(signer, ce, "mirror.heartbeat.short.bad", te.encode(payload));
    ce[SIG_HEADERS.signature] = (ce[SIG_HEADERS.signature] as string).slice(0, 30);
    for (const [k, v] of Object.entries(ce)) h.set(k, v);
    await jetstream(raw).publish("mirror.heartbeat.short.bad", payload, { headers: h });
    await producer.publish(heartbeat, "short.good", { name: "good", kind: "success", at: new Date().toISOString() });
    await waitFor("the signed event", () => seen.includes("good"));
    const jsm = await jetstreamManager(raw);
    const dl = await waitFor("a dead letter", async () => {
      const m = await jsm.streams.getMessage("MIRROR_DLQ", { last_by_subj: "mirror.dlq.short-sig" }).catch(() => null);
      return m ? DeadLetter.parse(m.json()) : undefined;
    });
    assert.equal(dl.reason, "signature");
    assert.match(dl.error, /signature of "scanner" is not 64 bytes/);
    assert.deepEqual(seen, ["good"]);
  } finally {
    await Promise.all([producer.close(), consumer.close(), raw.close()]);
  }
});

test("the connection handshake: nkeyAuth answers a nonce as nats.js' nkeyAuthenticator does, and nats-server lets it in", async () => {
  const users = [nkeys.createUser(), nkeys.createUser()];
  for (const kp of users) {
    const seed = kp.getSeed();
    for (const nonce of ["", "abcNONCE-xyz_123", "9eV1lH2vQ7ZyS1k/+=="]) {
      const theirs = nkeyAuthenticator(seed)(nonce || undefined);
      const ours = (nkeyAuth(seed).authenticator as Authenticator)(nonce || undefined);
      assert.deepEqual(ours, theirs, `nonce ${JSON.stringify(nonce)}`);
    }
  }
  const pub = users[0]?.getPublicKey() as string;
  const server = await startNats({ config: `authorization { users: [ { nkey: "${pub}" } ] }\n` });
  try {
    const nc = await connect({ servers: server.url, ...nkeyAuth(users[0]?.getSeed() as Uint8Array) });
    await nc.flush();
    await nc.close();
    await assert.rejects(
      connect({ servers: server.url, maxReconnectAttempts: 0, ...nkeyAuth(users[1]?.getSeed() as Uint8Array) }),
      /Authorization Violation/i,
      "another key is refused",
    );
  } finally {
    await server.dispose();
  }
});
