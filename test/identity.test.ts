// Issue 9's acceptance end to end: `pnpm mirror identity init`, a real nats-server started from
// the generated accounts.conf, the whole mesh through `pnpm start` with MIRROR_IDENTITY_DIR; a
// dirty repo reaches the webhook, then the checks from outside with the project's own client.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { inboxPrefixOf } from "@mirror/bus";
import { DeadLetter, repoKey, toCeHeaders } from "@mirror/contracts";
import {
  makeRepo,
  type Receiver,
  REPO_ROOT,
  type ServerHandle,
  startMesh,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, nkeyAuthenticator } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

type Alert = { status: string; labels: Record<string, string> };
const alertsOf = (json: unknown) => ((json as { alerts?: Alert[] }).alerts ?? []) as Alert[];

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
let dir: string;
let serverLog: string;

before(async () => {
  dir = join(tempDir("mirror-e2e-id-"), "identity");
  const init = spawnSync("pnpm", ["mirror", "identity", "init", "--out", dir], { cwd: REPO_ROOT, encoding: "utf8" });
  assert.equal(init.status, 0, init.stderr);
  serverLog = join(tempDir("mirror-e2e-natslog-"), "nats.log");
  [nats, redis, hook] = await Promise.all([
    startNats({ config: readFileSync(join(dir, "accounts.conf"), "utf8"), args: ["-l", serverLog] }),
    startRedis(),
    startReceiver(),
  ]);
});
after(async () => {
  await Promise.all([nats?.dispose(), redis?.dispose(), hook?.close()]);
});

const seed = (name: string) => new TextEncoder().encode(readFileSync(join(dir, `${name}.nk`), "utf8").trim());
const as = (name: string) =>
  connect({
    servers: nats.url,
    name,
    authenticator: nkeyAuthenticator(seed(name)),
    inboxPrefix: inboxPrefixOf(name),
    maxReconnectAttempts: 0,
  });

test("under the generated permissions the whole mesh works, and forgery, anonymity and leaks are refused", async () => {
  const root = tempDir("mirror-e2e-roots-");
  const dirty = makeRepo(join(root, "dirty"));
  writeFileSync(join(dirty, "notes.txt"), "unfinished\n");
  const secrets = tempDir("mirror-e2e-secrets-");
  writeFileSync(join(secrets, "hook.secret"), "whsec_aG9vay1zZWNyZXQtZnJvbS1hLWZpbGU=\n");
  const token = "e2e-http-token-0123456789";
  const mesh = startMesh(
    `http: { token: "\${MIRROR_E2E_TOKEN}" }
scanner: { roots: [ "${root}" ], interval: 1s, port: 0 }
tracker: { port: 0 }
loops: { port: 0, rules: { repo.dirty: { after: 0s } } }
model: { port: 0 }
notifier: { port: 0, groupWait: 0s, channels: [ { name: hook, type: webhook, url: "${hook.url}", secret: { secretFile: "${join(secrets, "hook.secret")}" } } ] }
`,
    {
      env: {
        MIRROR_NATS_URL: nats.url,
        MIRROR_REDIS_URL: redis.url,
        MIRROR_IDENTITY_DIR: dir,
        MIRROR_HTTP_HOST: "127.0.0.1",
        MIRROR_E2E_TOKEN: token,
      },
    },
  );
  try {
    await mesh.waitForLine(/provisioned MIRROR, MIRROR_DLQ and \d+ durable consumers as operator/, 30_000);
    const firing = await hook.waitFor(
      "firing repo.dirty for the dirty repo",
      (r) =>
        alertsOf(r.json).some(
          (a) => a.status === "firing" && a.labels.alertname === "repo.dirty" && a.labels.repo === dirty,
        ),
      90_000,
    );
    assert.ok(firing.headers["webhook-signature"], "the webhook is signed with the secret read from its file");

    const anonymous = await connect({ servers: nats.url, maxReconnectAttempts: 0 }).then(
      (nc) => nc.close().then(() => undefined),
      (e: Error) => e,
    );
    assert.equal(anonymous?.name, "AuthorizationError", "an anonymous client is refused");

    const scanner = await as("scanner");
    const operator = await as("operator");
    try {
      const violation = waitFor("the permissions violation", async () => {
        for await (const s of scanner.status())
          if (s.type === "error" && /Permissions Violation/.test(String(s.error))) return String(s.error);
        return undefined;
      });
      scanner.publish("mirror.loop.opened.forged", JSON.stringify({}));
      assert.match(await violation, /Publish to "mirror\.loop\.opened\.forged"/);

      const forgedPath = join(root, "forged");
      const key = repoKey(forgedPath);
      const h = headers();
      for (const [k, v] of Object.entries(
        toCeHeaders({
          id: "forged-snapshot-1",
          source: "scanner",
          type: "mirror.repo.snapshot.v1",
          time: new Date().toISOString(),
        }),
      ))
        h.set(k, v);
      const forged = await as("scanner");
      await jetstream(forged).publish(`mirror.repo.snapshot.${key}`, JSON.stringify({ path: forgedPath }), {
        headers: h,
        msgID: "forged-snapshot-1",
      });
      await forged.close();
      const jsm = await jetstreamManager(operator);
      const dead = await waitFor(
        "the forged snapshot dead-lettered",
        async () => {
          const m = await jsm.streams
            .getMessage("MIRROR_DLQ", { last_by_subj: "mirror.dlq.loop-detector" })
            .catch(() => undefined);
          const d = m ? DeadLetter.parse(m.json()) : undefined;
          return d?.headers["ce-id"] === "forged-snapshot-1" && d;
        },
        { timeout: 20_000 },
      );
      assert.equal(dead.reason, "signature");
      assert.equal(dead.subject, `mirror.repo.snapshot.${key}`);
    } finally {
      await Promise.all([scanner.close(), operator.close()]);
    }

    const ldPort = Number(
      /"port":(\d+)/.exec(
        mesh.output.find((l) => l.includes('"service":"loop-detector"') && l.includes("http listening")) ?? "",
      )?.[1],
    );
    assert.ok(ldPort > 0, "the loop-detector's port is in its log");
    const ack = (auth?: string) =>
      fetch(`http://127.0.0.1:${ldPort}/loops/nope/ack`, {
        method: "POST",
        headers: auth ? { authorization: auth } : {},
      });
    assert.equal((await ack()).status, 401, "a state change without the token is refused");
    assert.notEqual((await ack(`Bearer ${token}`)).status, 401, "with the token it reaches the route");
    assert.equal((await fetch(`http://127.0.0.1:${ldPort}/loops`)).status, 200, "reads stay open");

    // Mesh discovery ($SRV requests and replies across every service) has run under the permissions too.
    const discovered = await as("operator");
    try {
      const jsm = await jetstreamManager(discovered);
      await waitFor(
        "the tracker's status of the loop-detector, found by $SRV discovery",
        () =>
          jsm.streams
            .getMessage("MIRROR", { last_by_subj: "mirror.service.status.loop-detector" })
            .catch(() => undefined),
        { timeout: 60_000, interval: 500 },
      );
    } finally {
      await discovered.close();
    }
    // nats-server logs "Publish Violation" / "Subscription Violation" for every refused operation.
    const logged = readFileSync(serverLog, "utf8")
      .split("\n")
      .filter((l) => /Violation/.test(l));
    assert.ok(
      logged.some((l) => l.includes('"mirror.loop.opened.forged"')),
      "the provoked violation is in the server log",
    );
    const violations = logged.filter((l) => !l.includes('"mirror.loop.opened.forged"'));
    assert.deepEqual(violations, [], "the services needed nothing beyond the generated permissions");
  } finally {
    // The exit code is pnpm's business (it may report the Ctrl-C itself); the supervisor's own stop is checked.
    await mesh.stop();
    assert.ok(mesh.output.includes("mirror: stopped"), mesh.output.slice(-30).join("\n"));
  }
  const logs = mesh.output.join("\n");
  for (const s of [
    token,
    "whsec_aG9vay1zZWNyZXQtZnJvbS1hLWZpbGU=",
    ...["scanner", "loop-detector", "notifier", "operator"].map((n) =>
      readFileSync(join(dir, `${n}.nk`), "utf8").trim(),
    ),
  ]) {
    assert.ok(!logs.includes(s), `a secret reached the logs: ${s.slice(0, 6)}…`);
  }
});
