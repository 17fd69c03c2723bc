// The permission model against a real nats-server started from the generated accounts.conf:
// anonymous refused, the scanner cannot say what the loop-detector says, services read only
// the consumers the operator provisioned, and forged events are dead-lettered.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Bus, identitiesOf, inboxPrefixOf } from "@mirror/bus";
import { CE, DeadLetter, heartbeat, repoGone, toCeHeaders } from "@mirror/contracts";
import { connectBus, createLogger, parseConfig } from "@mirror/kit";
import { type ServerHandle, startNats, tempDir, waitFor } from "@mirror/testkit";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, nkeyAuthenticator, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { run } from "../src/commands/identity.js";
import { refusesAnonymous } from "../src/identity/prepare.js";
import { provisionAsOperator } from "../src/identity/provision.js";
import { loadManifests } from "../src/manifests.js";
import { raw } from "@mirror/bus/testing";

let nats: ServerHandle;
let dir: string;
let serverLog: string;
const silent = createLogger("test", { write: () => true } as never, "silent");
const quiet = async <T>(f: () => Promise<T>) => {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as never;
  try {
    return await f();
  } finally {
    process.stdout.write = write;
  }
};

const seed = (name: string) => new TextEncoder().encode(readFileSync(join(dir, `${name}.nk`), "utf8").trim());
const as = (name: string) =>
  connect({
    servers: nats.url,
    name,
    authenticator: nkeyAuthenticator(seed(name)),
    inboxPrefix: inboxPrefixOf(name),
    maxReconnectAttempts: 0,
  });
const config = () => parseConfig(`bus: { url: "${nats.url}", identityDir: "${dir}" }`, {}, "(test)");
const busAs = (name: string) => connectBus(name, { config: config(), env: {}, log: silent });

before(async () => {
  dir = join(tempDir("mirror-identity-"), "id");
  assert.equal(await quiet(() => run(["init", "--out", dir], {})), 0);
  serverLog = join(tempDir("mirror-nats-log-"), "nats.log");
  nats = await startNats({ config: readFileSync(join(dir, "accounts.conf"), "utf8"), args: ["-l", serverLog] });
  await provisionAsOperator(config(), join(dir, "operator.nk"), identitiesOf(await loadManifests()));
});
after(async () => {
  await nats?.dispose();
});

test("init writes 0600 seeds, keeps them on a re-run, and --rotate replaces them", async () => {
  const d = join(tempDir("mirror-identity-"), "id");
  await quiet(() => run(["init", "--out", d], {}));
  const first = readFileSync(join(d, "scanner.nk"), "utf8");
  assert.match(first, /^SU[A-Z2-7]{56}\n$/);
  assert.equal(statSync(join(d, "scanner.nk")).mode & 0o777, 0o600);
  assert.equal(statSync(d).mode & 0o777, 0o700);
  await quiet(() => run(["init", "--out", d], {}));
  assert.equal(readFileSync(join(d, "scanner.nk"), "utf8"), first);
  await quiet(() => run(["init", "--out", d, "--rotate"], {}));
  assert.notEqual(readFileSync(join(d, "scanner.nk"), "utf8"), first);
  const keys = JSON.parse(readFileSync(join(d, "public-keys.json"), "utf8")) as Record<string, string>;
  assert.ok(readFileSync(join(d, "accounts.conf"), "utf8").includes(keys.scanner as string));
  assert.doesNotMatch(readFileSync(join(d, "accounts.conf"), "utf8"), /SU[A-Z2-7]{56}/, "no seed in the server config");
});

test("an anonymous client is refused, and pnpm start's probe sees it", async () => {
  assert.equal(await refusesAnonymous(nats.url), true);
  const err = await connect({ servers: nats.url, maxReconnectAttempts: 0 }).then(
    (nc) => nc.close().then(() => undefined),
    (e: Error) => e,
  );
  assert.equal(err?.name, "AuthorizationError");
});

test("the scanner's key cannot publish mirror.loop.opened.*: the server reports a permissions violation", async () => {
  const nc = await as("scanner");
  try {
    const violation = waitFor("a permissions violation", async () => {
      for await (const s of nc.status())
        if (s.type === "error" && /Permissions Violation/i.test(String(s.error))) return String(s.error);
      return undefined;
    });
    nc.publish("mirror.loop.opened.forged", "{}");
    assert.match(await violation, /Publish to "mirror\.loop\.opened\.forged"/);
  } finally {
    await nc.close();
  }
  const bus = await busAs("scanner");
  try {
    const started = Date.now();
    await assert.rejects(
      bus.publish(heartbeat, "forged", { name: "job", kind: "success", at: new Date().toISOString() }),
      { code: "MIRROR_ERR_PERMISSION" },
    );
    assert.ok(Date.now() - started < 5_000, "a refused publish fails at once instead of retrying");
  } finally {
    await bus.close();
  }
});

test("a service binds to its provisioned consumer and may not create any other", async () => {
  const detector = await busAs("loop-detector");
  const scanner = await busAs("scanner");
  try {
    const seen: string[] = [];
    detector.consume(repoGone, "loop-detector-repo-gone", async (g, m) => void seen.push(`${g.repoKey}:${m.source}`));
    const gone = { repoKey: "r1", path: "/tmp/r1", observedAt: new Date().toISOString(), seq: 1 };
    await scanner.publish(repoGone, "r1", gone, { id: "gone-r1-1" });
    await waitFor("the signed event delivered", () => seen.includes("r1:scanner"), { timeout: 15_000 });
    const jsm = await jetstreamManager(raw(detector).nc, { checkAPI: false });
    await assert.rejects(
      jsm.consumers.add("MIRROR", { durable_name: "sneaky", filter_subject: "mirror.loop.>" }),
      /Permissions Violation for Publish to "\$JS\.API\.CONSUMER\.CREATE\.MIRROR\.sneaky/,
    );
  } finally {
    await Promise.all([detector.close(), scanner.close()]);
  }
});

async function deadLetters(nc: NatsConnection): Promise<DeadLetter[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info("MIRROR_DLQ").catch(() => undefined);
  const out: DeadLetter[] = [];
  for (let seq = info?.state.first_seq ?? 1; info && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage("MIRROR_DLQ", { seq }).catch(() => undefined);
    if (m) out.push(DeadLetter.parse(m.json()));
  }
  return out;
}

test("a forged snapshot (unsigned, or signed by another key) is dead-lettered with reason signature", async () => {
  const detector: Bus = await busAs("loop-detector");
  const handled: string[] = [];
  detector.consume(repoGone, "loop-detector-repo-gone", async (g) => void handled.push(g.repoKey));
  const scannerNc = await as("scanner");
  const operator = await as("operator");
  try {
    const js = jetstream(scannerNc);
    const gone = (key: string) =>
      JSON.stringify({ repoKey: key, path: `/tmp/${key}`, observedAt: new Date().toISOString(), seq: 1 });
    const h = headers();
    for (const [k, v] of Object.entries(
      toCeHeaders({ id: "forged-1", source: "scanner", type: repoGone.type, time: new Date().toISOString() }),
    ))
      h.set(k, v);
    await js.publish("mirror.repo.gone.forged1", gone("forged1"), { headers: h, msgID: "forged-1" });
    const h2 = headers();
    for (const [k, v] of Object.entries(
      toCeHeaders({ id: "forged-2", source: "scanner", type: repoGone.type, time: new Date().toISOString() }),
    ))
      h2.set(k, v);
    h2.set("mirror-key", JSON.parse(readFileSync(join(dir, "public-keys.json"), "utf8"))["notifier"]);
    h2.set("mirror-sig", Buffer.alloc(64, 1).toString("base64url"));
    await js.publish("mirror.repo.gone.forged2", gone("forged2"), { headers: h2, msgID: "forged-2" });
    const dead = await waitFor(
      "two dead letters",
      async () => {
        const d = (await deadLetters(operator)).filter((x) => x.subject.startsWith("mirror.repo.gone.forged"));
        return d.length >= 2 && d;
      },
      { timeout: 15_000 },
    );
    assert.deepEqual(
      dead.map((d) => d.reason),
      ["signature", "signature"],
    );
    assert.equal(dead[0]?.service, "loop-detector");
    assert.match(dead[0]?.error ?? "", /unsigned/);
    assert.match(dead[1]?.error ?? "", /not the key of "scanner"/);
    assert.deepEqual(
      handled.filter((k) => k.startsWith("forged")),
      [],
      "a forged event never reaches the handler",
    );
    assert.equal(dead[0]?.headers[CE.id], "forged-1");
  } finally {
    await Promise.all([detector.close(), scannerNc.close(), operator.close()]);
  }
});

test("nothing the services did was refused by the server except what the tests provoked", () => {
  // nats-server logs "Publish Violation" / "Subscription Violation" for every refused operation.
  const violations = readFileSync(serverLog, "utf8")
    .split("\n")
    .filter((l) => /Violation/.test(l));
  assert.ok(violations.length >= 2, "the provoked violations are in the log (the filter below can see them)");
  const unexpected = violations.filter(
    (l) => !/"mirror\.loop\.opened\.forged"|"mirror\.heartbeat\.forged"|CONSUMER\.CREATE\.MIRROR\.sneaky\./.test(l),
  );
  assert.deepEqual(unexpected, []);
});
