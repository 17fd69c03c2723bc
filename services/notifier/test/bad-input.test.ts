import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { test } from "node:test";
import { ConfigError, parseConfig } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { buildChannels } from "../src/channels/index.js";
import { Harness, makeLoop } from "./harness.js";

function configError(notifier: string): string {
  try {
    parseConfig(`notifier: ${notifier}\n`, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail("expected a config error");
}

test("config errors name the key path", () => {
  assert.match(
    configError(`{ channels: [ { name: x, type: pager, url: "http://a" } ] }`),
    /notifier\.channels\.0\.type/,
  );
  assert.match(configError(`{ channels: [ { name: x, type: ntfy } ] }`), /notifier\.channels\.0\.url/);
  assert.match(
    configError(`{ channels: [ { name: x, type: webhook, url: "http://a", secret: "whsec_not base64!" } ] }`),
    /notifier\.channels\.0\.secret: a whsec_ secret must be valid base64/,
  );
  assert.match(
    configError(`{ channels: [ { name: x, type: webhook, url: "http://a" } ], routes: [ { channels: [y] } ] }`),
    /notifier\.routes\.0\.channels\.0: no channel named "y"/,
  );
  assert.match(configError(`{ quietHours: { from: "25:00", to: "07:00" } }`), /notifier\.quietHours\.from/);
  assert.match(configError(`{ routes: [ { severity: ">= urgent" } ] }`), /notifier\.routes\.0\.severity/);
  assert.match(configError(`{ groupWait: 30 }`), /notifier\.groupWait: durations need a unit/);
});

/** A real HTTP server with a custom answer (huge, non-JSON, or none at all). */
async function serve(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url: string; hits: number; close(): Promise<void> }> {
  const state = { hits: 0 };
  const server: Server = createServer((req, res) => {
    state.hits++;
    handler?.(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    get hits() {
      return state.hits;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test("a 10 MB error answer is retried without being read whole; a non-JSON 200 counts as delivered; a hanging channel blocks no other", async () => {
  const h = await Harness.start();
  const big = Buffer.alloc(10 * 1024 * 1024, 120);
  let calls = 0;
  const huge = await serve((_req, res) => {
    calls++;
    if (calls === 1) {
      res.writeHead(503, { "content-type": "text/html" });
      res.end(big);
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>thanks</html>");
    }
  });
  const hang = await serve(() => undefined);
  try {
    await h.startNotifier(
      `{ groupWait: 0s, backoff: 10ms, maxAttempts: 2, channels: [
        { name: huge, type: webhook, url: "${huge.url}" },
        { name: hang, type: webhook, url: "${hang.url}", timeout: 30s },
        { name: ok, type: webhook, url: "RECEIVER" } ] }`,
    );
    await h.publish(makeLoop());
    await h.receiver.waitFor("the healthy channel's delivery", () => true, 5_000);
    assert.ok(hang.hits >= 1, "the hanging channel was tried, and did not hold the others back");
    await waitFor("the huge channel delivered on the second try", () => calls === 2);
    const retry = h.logs.find((l) => l.msg === "delivery failed; will retry" && l.channel === "huge");
    assert.match(String(retry?.error), /^HTTP 503: x+$/);
    assert.ok(String(retry?.error).length < 400, "the error excerpt is capped");
  } finally {
    await h.stop();
    await huge.close();
    await hang.close();
  }
});

test("a 4xx other than 408/429 is not retried; the failure is published and counted", async () => {
  const h = await Harness.start();
  let seen = 0;
  h.receiver.respond(() => {
    seen++;
    return 404;
  });
  try {
    const svc = await h.startNotifier(
      `{ groupWait: 0s, backoff: 10ms, channels: [ { name: hook, type: webhook, url: "RECEIVER" } ] }`,
    );
    await h.publish(makeLoop());
    const failed = await waitFor("the failure log", () => h.logs.find((l) => l.msg === "delivery failed for good"));
    assert.equal(failed.attempt, 1);
    assert.equal(seen, 1);
    const metrics = await svc.ctx.registry.getSingleMetricAsString("mirror_notify_deliveries_total");
    assert.match(metrics, /mirror_notify_deliveries_total\{channel="hook",outcome="failed"\} 1/);
  } finally {
    await h.stop();
  }
});

test("a template field that does not exist renders empty and is logged once", async () => {
  const h = await Harness.start();
  try {
    await h.startNotifier(
      `{ groupWait: 0s, channels: [ { name: phone, type: ntfy, url: "RECEIVERt", template: { title: "{{group}} {{nope.field}}", body: "{{#each alerts}}{{target}} {{missing}};{{/each}}" } } ] }`,
    );
    await h.publish(makeLoop({ repo: "/a" }));
    await h.publish(makeLoop({ repo: "/b" }));
    const r = await h.receiver.waitFor("a publish", () => true);
    assert.equal(r.headers.title, "repo.dirty");
    assert.match(r.body, /^\/(a|b) ;/);
    const warned = h.logs.filter((l) => l.msg === "template field does not exist; it renders empty");
    assert.deepEqual(warned.map((l) => l.field).sort(), ["missing", "nope.field"]);
  } finally {
    await h.stop();
  }
});

test("a template that does not parse is a config error at start-up", () => {
  const cfg = parseConfig(
    `notifier: { channels: [ { name: phone, type: ntfy, url: "http://127.0.0.1:1/t", template: { body: "{{#each alerts}}x" } } ] }\n`,
    {},
  );
  assert.throws(
    () => buildChannels(cfg.notifier.channels, { onMissingField: () => undefined }),
    (err: Error) =>
      err instanceof ConfigError &&
      /notifier\.channels\.0\.template\.body: \{\{#each\}\} is not closed/.test(err.message),
  );
});
