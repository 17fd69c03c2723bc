// Issue 4's acceptance as a new user would try it: `pnpm start` with the issue's mirror.yaml,
// a real web server and a job pinging /ping/nightly-backup. A failing body condition, the
// server going away and coming back, and the pings stopping each reach the webhook; nothing
// else fires (not the heartbeat while it pings, not any mesh member).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  freePort,
  type Receiver,
  type ServerHandle,
  startMesh,
  startNats,
  startReceiver,
  startRedis,
} from "@mirror/testkit";
import { startHttp, type TestHttp } from "./harness.js";

type Alert = { status: string; labels: Record<string, string> };
const alertsOf = (json: unknown) => ((json as { alerts?: Alert[] }).alerts ?? []) as Alert[];

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose(), hook.close()]);
});

const json = (body: unknown) => (_req: unknown, res: import("node:http").ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

test("tracker acceptance: degraded, down, resolved and heartbeat.missed reach the webhook through pnpm start", {
  timeout: 240_000,
}, async () => {
  let web: TestHttp = await startHttp();
  const webPort = web.port;
  const port = await freePort();
  const mesh = startMesh(
    `tracker: { port: ${port}, checks: [ {name: web, interval: 1s, http: {url: "http://127.0.0.1:${webPort}/health", timeout: 1s}, conditions: ["status == 200", "body.status == ok"]}, {name: nightly-backup, heartbeat: {every: 2s, grace: 1s}} ] }
loops: { rules: { service.down: { after: 0s }, service.degraded: { after: 0s }, heartbeat.missed: { after: 0s } } }
notifier: { groupWait: 0s, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
`,
    { env: { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" } },
  );
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      // The name form, with the token pnpm start made (a job would use its ping key).
      const auth = existsSync(join(mesh.dataDir, "http-token"))
        ? { authorization: `Bearer ${mesh.httpToken()}` }
        : undefined;
      await fetch(`http://127.0.0.1:${port}/ping/nightly-backup`, { method: "POST", headers: auth }).catch(
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const fired = (kind: string, status: string, service: string) =>
    hook.waitFor(
      `${status} ${kind} for ${service}`,
      (r) =>
        alertsOf(r.json).some(
          (a) => a.status === status && a.labels.alertname === kind && a.labels.service === service,
        ),
      60_000,
    );
  try {
    for (const name of ["service-tracker", "loop-detector", "notifier"])
      await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 120_000);
    web.handle = json({ status: "broken" });
    await fired("service.degraded", "firing", "web");
    web.handle = json({ status: "ok" });
    await fired("service.degraded", "resolved", "web");
    await web.close();
    await fired("service.down", "firing", "web");
    web = await startHttp(webPort);
    await fired("service.down", "resolved", "web");
    pinging = false;
    await pinger;
    await fired("heartbeat.missed", "firing", "nightly-backup");
    const expected = new Set(["service.degraded/web", "service.down/web", "heartbeat.missed/nightly-backup"]);
    const unexpected = hook.requests
      .flatMap((r) => alertsOf(r.json))
      .filter((a) => a.status === "firing" && !expected.has(`${a.labels.alertname}/${a.labels.service}`));
    assert.deepEqual(unexpected, [], "nothing else fired");
  } finally {
    pinging = false;
    await pinger;
    await mesh.stop();
    await web.close();
  }
});
