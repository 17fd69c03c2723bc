// The console's live feeds against a real nats-server: loop events cost the console nothing while
// no page watches, and a page that connects gets them live.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { type Loop, loopId, loopOpened, loopUpdated, serviceStatus } from "@mirror/contracts";
import { createLogger, parseConfig, type RunningService, runService } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { manifest } from "../src/manifest.js";
import { consoleSpec } from "../src/service.js";
import { UserStore } from "../src/users.js";

const silent = createLogger("test", { write: () => true } as never, "silent");
let nats: ServerHandle;
let redis: ServerHandle;
let svc: RunningService;
let publisher: Bus;

function loopOf(n: number, rev = 1): Loop {
  const at = "2026-01-01T00:00:00.000Z";
  return {
    id: loopId("repo.dirty", `repo:/src/r${n}`),
    kind: "repo.dirty",
    entity: { type: "repo", repo: `/src/r${n}` },
    severity: "low",
    status: "open",
    summary: `repo.dirty on /src/r${n}`,
    openedAt: at,
    updatedAt: at,
    closedAt: null,
    snoozedUntil: null,
    suppressedBy: [],
    rev,
    evidence: {},
    triage: null,
    history: [],
  } as Loop;
}

const publish = (n: number, rev = 1) => {
  const loop = loopOf(n, rev);
  return publisher.publish(
    rev === 1 ? loopOpened : loopUpdated,
    loop.id,
    { loop, reason: "test" },
    { id: `${loop.id}:${rev}` },
  );
};

/** The console's own count of events passed to its live hub, for `kind`. */
async function taken(kind: string): Promise<number> {
  const text = await svc.ctx.registry.getSingleMetricAsString("mirror_console_live_events_total");
  return Number(new RegExp(`kind="${kind}"} (\\d+)`).exec(text)?.[1] ?? 0);
}

async function feedsRunning(): Promise<number> {
  const text = await svc.ctx.registry.getSingleMetricAsString("mirror_console_live_feeds_running");
  return Number(/^mirror_console_live_feeds_running (\d+)$/m.exec(text)?.[1]);
}

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const config = parseConfig(
    `console: { port: 0, publicUrl: "http://127.0.0.1:9", trustedHeader: Remote-User, trustedProxies: [ "127.0.0.1" ] }\n`,
    env,
  );
  svc = await runService(
    { ...consoleSpec(), manifest },
    { config, port: 0, logDest: { write: () => true } as never, env },
  );
  await new UserStore(svc.ctx.store, Date.now).add("alice", "viewer", "alice-password-1");
  publisher = await Bus.connect({ name: "loop-detector", url: nats.url, log: silent, registry: new Registry() });
});

after(async () => {
  await publisher?.close();
  await svc?.stop();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

test("with no page watching, the console takes in none of 50 loop events; a page that connects gets them live", async () => {
  assert.equal(await feedsRunning(), 0);
  for (let n = 0; n < 50; n++) await publish(n);
  // A service status after them: once its durable consumer has passed it on, a subscribed feed
  // would have had the 50 loop events long before.
  const at = new Date().toISOString();
  await publisher.publish(serviceStatus, "web", {
    name: "web",
    kind: "http",
    state: "up",
    observedAt: at,
    seq: 1,
    since: at,
    latencyMs: 5,
    reason: null,
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
  });
  await waitFor("the service status passed to the hub", async () => (await taken("service")) === 1, {
    timeout: 20_000,
  });
  assert.equal(await taken("loop"), 0, "no loop event passed to the hub");

  const url = `http://127.0.0.1:${svc.port}/api/events`;
  const res = await fetch(url, { headers: { "remote-user": "alice", "last-event-id": "1" } });
  assert.equal(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      text += decoder.decode(chunk.value, { stream: true });
    }
  })();
  try {
    await waitFor("a resync frame", () => /event: resync\n/.test(text), { timeout: 5_000 });
    assert.equal(await feedsRunning(), 1, "the first watcher started the feeds");
    // The subscription reaches the server asynchronously: publish until one arrives.
    const id = loopOf(100).id;
    await waitFor(
      "a live loop event",
      async () => {
        await publish(100, 2 + (await taken("loop")));
        return text.includes(`"loopId":"${id}"`);
      },
      { timeout: 10_000, interval: 100 },
    );
    assert.match(text, new RegExp(`id: \\d+\\nevent: loop\\ndata: \\{[^\\n]*"loopId":"${id}"`));
    // The retries above may still be on their way through the console: count from a quiet moment.
    let last = -1;
    await waitFor(
      "the console to have taken every retry",
      async () => {
        const now = await taken("loop");
        const quiet = now === last;
        last = now;
        return quiet;
      },
      { timeout: 10_000, interval: 500 },
    );
    const before = await taken("loop");
    for (let n = 0; n < 5; n++) await publish(200 + n);
    await waitFor("5 more loop events", async () => (await taken("loop")) === before + 5, { timeout: 10_000 });
    await publish(200);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await taken("loop"), before + 5, "a publish retried with the same id is passed on once");
  } finally {
    await reader.cancel().catch(() => undefined);
    await reading;
  }
});
