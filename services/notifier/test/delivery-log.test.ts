// The notifier's delivery log (mirror.notifier.deliveries): each attempt per channel, newest
// first, bounded, with the error shown but never a secret of the channel.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { Channel, type DeliveriesReply, notifyDeliveries } from "@mirror/contracts";
import { freePort, startRedis, waitFor } from "@mirror/testkit";
import fc from "fast-check";
import { Redis } from "ioredis";
import { channelSecrets, DeliveryLog, redactError } from "../src/delivery-log.js";
import type { Message } from "../src/message.js";
import type { Delivery } from "../src/store.js";
import { Harness, makeLoop } from "./harness.js";

const TOKEN = "tok_9f8e7d6c5b4a39281706";
const PATH_SECRET = "hooks/T0KEN-in-the-path-1234";
const BEARER = "sekret-bearer-value-42";

/** A receiver that refuses everything with 400 and echoes what it was sent: URL, Authorization, a long token. */
async function echoingRefuser(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(400, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        error: "bad hook",
        url: `http://${req.headers.host}${req.url}`,
        auth: req.headers.authorization,
        key: "AbCdEf0123456789AbCdEf0123456789xyz",
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test("redactError: the channel's secrets, URL paths and queries, named credentials and token-like runs never show", () => {
  const channel = Channel.parse({
    name: "n",
    type: "ntfy",
    url: `https://ntfy.example/${PATH_SECRET}?auth=${TOKEN}`,
    token: TOKEN,
    password: "hunter22",
  });
  const secrets = channelSecrets(channel);
  const text = `HTTP 401: {"error":"denied https://ntfy.example/${PATH_SECRET}?auth=${TOKEN}","password":"hunter22","hdr":"Bearer ${BEARER}"} token=abc123 https://user:pw@other.example/x?y=1`;
  const out = redactError(text, secrets);
  for (const s of [PATH_SECRET, TOKEN, "hunter22", BEARER, "abc123", "user:pw", "/x?y=1"])
    assert.ok(!out.includes(s), `${s} is hidden in ${out}`);
  assert.match(out, /^HTTP 401: /, "what happened stays readable");
  assert.match(out, /https:\/\/other\.example\/\[redacted\]/, "another URL keeps its host");
  assert.equal(
    redactError("redirected to https://ntfy.example/elsewhere?x=1", secrets),
    "redirected to https://ntfy.example/[redacted]",
  );
  assert.equal(redactError("request failed: ECONNREFUSED", secrets), "request failed: ECONNREFUSED");
  assert.ok(redactError("x".repeat(5_000), []).length <= 501);
  // Any secret of the channel, wherever it stands in any text, is gone.
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9_.~-]{6,40}$/), fc.string(), fc.string(), (secret, before, after) => {
      const c = Channel.parse({ name: "w", type: "webhook", url: "https://hooks.example/x", secret });
      assert.ok(!redactError(`${before}${secret}${after}`, channelSecrets(c)).includes(secret));
    }),
  );
  // Any URL in any error keeps only its origin: no path, no query, no user info.
  const around = fc.string({ unit: fc.constantFrom(" ", "a", ":", '"', ",", "(") });
  fc.assert(
    fc.property(
      around,
      fc.stringMatching(/^[A-Za-z0-9_.~-]{1,30}$/),
      fc.stringMatching(/^[A-Za-z0-9_.~-]{1,30}$/),
      around,
      (before, path, query, after) => {
        const out = redactError(`${before}https://u:p@hooks.example/${path}?k=${query}${after}`, []);
        assert.ok(out.includes("https://hooks.example/[redacted]"), out);
        assert.ok(!out.includes(`/${path}?`) && !out.includes(`=${query}`) && !out.includes("u:p@"), out);
      },
    ),
  );
});

function delivery(id: string, channel: string, over: Partial<Message> = {}): Delivery {
  const message: Message = {
    kind: "alerts",
    receiver: channel,
    status: "firing",
    groupKey: "{}:{}",
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "",
    catchUp: false,
    repeat: false,
    storm: false,
    alerts: [
      {
        status: "firing",
        labels: { alertname: "repo.dirty", repo: "/src/a" },
        annotations: {},
        startsAt: "",
        endsAt: "",
        generatorURL: "",
        fingerprint: `loop-${id}`,
      },
    ],
    ...over,
  };
  return { id, channel, groupId: "g", message, createdAt: 0, attempt: 0, state: "pending", lastError: null };
}

test("the log keeps the newest attempts per channel, counts them, filters by channel and limit, and forgets removed channels", async () => {
  const server = await startRedis();
  const redis = new Redis(server.url, { keyPrefix: `mirror:notifier-${process.pid}:` });
  try {
    const channels = [
      Channel.parse({ name: "a", type: "webhook", url: "http://127.0.0.1:1/" }),
      Channel.parse({ name: "b", type: "webhook", url: "http://127.0.0.1:2/" }),
    ];
    const log = new DeliveryLog(redis, channels, 3);
    for (let i = 1; i <= 5; i++)
      await log.record({
        delivery: delivery(`d${i}`, "a"),
        outcome: i % 2 ? "sent" : "retried",
        attempts: 1,
        at: i * 1_000,
        error: i % 2 ? null : "HTTP 503",
      });
    await log.record({
      delivery: delivery("r", "a", { repeat: true }),
      outcome: "failed",
      attempts: 4,
      at: 9_000,
      error: "HTTP 410",
    });
    await log.record({
      delivery: delivery("dg", "gone", { kind: "digest" }),
      outcome: "sent",
      attempts: 1,
      at: 10_000,
    });

    const all = await log.read({ limit: 50 });
    assert.deepEqual(
      all.channels.map((c) => c.channel),
      ["a", "b", "gone"],
    );
    const a = all.channels[0];
    assert.deepEqual(
      a?.deliveries.map((d) => d.deliveryId),
      ["r", "d5", "d4"],
      "newest first, only the 3 kept",
    );
    assert.deepEqual(a?.counts, { sent: 1, failed: 1, retried: 1 });
    assert.equal(a?.deliveries[0]?.kind, "repeat");
    assert.equal(a?.deliveries[0]?.error, "HTTP 410");
    assert.deepEqual(a?.deliveries[1]?.alerts, [
      { loopId: "loop-d5", alertname: "repo.dirty", entity: "/src/a", status: "firing" },
    ]);
    assert.deepEqual(all.channels[1]?.deliveries, [], "a configured channel without attempts is listed, empty");
    const gone = all.channels[2];
    assert.equal(gone?.configured, false);
    assert.equal(gone?.type, null);
    assert.equal(gone?.deliveries[0]?.kind, "digest");
    assert.equal(all.kept, 3);

    const one = await log.read({ channel: "a", limit: 1 });
    assert.deepEqual(
      one.channels.map((c) => [c.channel, c.deliveries.length]),
      [["a", 1]],
    );
    assert.deepEqual((await log.read({ channel: "nope", limit: 5 })).channels, []);

    // A channel removed from the config whose log has lapsed is no longer listed.
    await redis.del("log:gone");
    assert.deepEqual(
      (await log.read({ limit: 5 })).channels.map((c) => c.channel),
      ["a", "b"],
    );
    assert.deepEqual(await redis.smembers("log:channels"), ["a"]);
  } finally {
    redis.disconnect();
    await server.dispose();
  }
});

test("mirror.notifier.deliveries: a sent webhook, a retried-then-failed one against a closed port, an echoing refuser without its secrets", async () => {
  const h = await Harness.start();
  const refuser = await echoingRefuser();
  const closed = await freePort();
  try {
    await h.startNotifier(
      `{ groupWait: 0s, maxAttempts: 2, backoff: 50ms, maxBackoff: 100ms, channels: [
        { name: hook, type: webhook, url: "RECEIVER" },
        { name: down, type: webhook, url: "http://127.0.0.1:${closed}/hook" },
        { name: echo, type: webhook, url: "${refuser.url}/${PATH_SECRET}?token=${TOKEN}", headers: { Authorization: "Bearer ${BEARER}" } } ] }`,
    );
    const loop = makeLoop({ repo: "/src/logged" });
    await h.publish(loop);
    const read = (req: { channel?: string; limit?: number } = {}) => h.publisher.request(notifyDeliveries, req);
    const byName = (r: DeliveriesReply, name: string) => r.channels.find((c) => c.channel === name);
    const reply = await waitFor(
      "every channel's outcome in the log",
      async () => {
        const r = await read();
        const done = (name: string, outcome: string) => byName(r, name)?.deliveries.some((d) => d.outcome === outcome);
        return done("hook", "sent") && done("down", "failed") && done("echo", "failed") ? r : undefined;
      },
      { timeout: 20_000 },
    );

    const hook = byName(reply, "hook");
    assert.equal(hook?.type, "webhook");
    assert.deepEqual(
      hook?.deliveries.map((d) => [d.outcome, d.kind, d.attempts, d.error]),
      [["sent", "firing", 1, null]],
    );
    assert.deepEqual(hook?.deliveries[0]?.alerts, [
      { loopId: loop.id, alertname: "repo.dirty", entity: "/src/logged", status: "firing" },
    ]);

    const down = byName(reply, "down");
    assert.deepEqual(
      down?.deliveries.map((d) => [d.outcome, d.attempts]),
      [
        ["failed", 2],
        ["retried", 1],
      ],
      "newest first",
    );
    assert.match(down?.deliveries[0]?.error ?? "", /ECONNREFUSED/);
    assert.ok(down?.deliveries[1]?.nextAttemptAt, "a retried attempt says when the next one is due");
    assert.deepEqual(down?.counts, { sent: 0, failed: 1, retried: 1 });

    const echo = byName(reply, "echo");
    assert.deepEqual(
      echo?.deliveries.map((d) => d.outcome),
      ["failed"],
      "a 400 is not retried",
    );
    assert.match(echo?.deliveries[0]?.error ?? "", /^HTTP 400: .*bad hook/);
    const text = JSON.stringify(reply);
    for (const s of [TOKEN, PATH_SECRET, BEARER, "AbCdEf0123456789AbCdEf0123456789xyz"])
      assert.ok(!text.includes(s), `the reply does not contain ${s}`);

    const only = await read({ channel: "down", limit: 1 });
    assert.deepEqual(
      only.channels.map((c) => [c.channel, c.deliveries.map((d) => d.outcome)]),
      [["down", ["failed"]]],
    );

    // The resolution goes out as its own kind.
    await h.publish({
      ...loop,
      status: "closed",
      rev: 2,
      closedAt: "2026-01-01T01:00:00.000Z",
      updatedAt: "2026-01-01T01:00:00.000Z",
    });
    await waitFor(
      "the resolved message in the hook's log",
      async () => (await read({ channel: "hook" })).channels[0]?.deliveries[0]?.kind === "resolved",
      { timeout: 20_000 },
    );

    await assert.rejects(read({ limit: 0 }), "a bad limit is refused");
  } finally {
    refuser.server.close();
    await h.stop();
  }
});
