import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BusError, bindDurable, Bus, RequestError } from "@mirror/bus";
import {
  isAuthorizationError,
  isConsumerExists,
  isConsumerNotFound,
  isNoResponders,
  isPermissionViolation,
  isStreamNotFound,
  isTimeout,
  JS_ERR,
  jetStreamApiCode,
  raw,
} from "@mirror/bus/testing";
import { defineEndpoint, heartbeat, STREAM } from "@mirror/contracts";
import { createLogger } from "@mirror/kit";
import { startNats, type ServerHandle } from "@mirror/testkit";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import { z } from "zod";

// NATS failures are classified by nats.js's error classes and JetStream's err_code, never by message
// text: each case below makes the real failure against a real nats-server.

let nats: ServerHandle;
let locked: ServerHandle;
const silent = createLogger("test", { write: () => true } as never, "silent");
const bus = (name: string, url = nats.url, extra: Partial<Parameters<typeof Bus.connect>[0]> = {}) =>
  Bus.connect({ name, url, log: silent, registry: new Registry(), publishDeadlineMs: 30_000, ...extra });
const echo = defineEndpoint({
  name: "errors.echo",
  subject: "mirror.test.errors.echo",
  request: z.object({ n: z.number() }),
  reply: z.object({ n: z.number() }),
});

before(async () => {
  nats = await startNats();
  locked = await startNats({
    config: `authorization { users = [
      { user: admin, password: admin-pass }
      { user: limited, password: limited-pass, permissions: { publish: { allow: [">"], deny: ["mirror.heartbeat.denied"] } } }
    ] }`,
  });
});
after(async () => {
  await nats.dispose();
  await locked.dispose();
});

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail("expected a failure");
}

test("a request nobody serves is MIRROR_ERR_NO_RESPONDERS (nats.js RequestError caused by NoRespondersError)", async () => {
  const b = await bus("nr-test");
  try {
    const rawErr = await failure(raw(b).nc.request(echo.subject, "{}", { timeout: 2_000 }));
    assert.ok(isNoResponders(rawErr) && !isTimeout(rawErr));
    const err = await failure(b.request(echo, { n: 1 }, { timeout: 2_000 }));
    assert.ok(err instanceof RequestError);
    assert.equal(err.code, "MIRROR_ERR_NO_RESPONDERS");
    assert.equal(err.retryable, true);
    assert.ok(isNoResponders(err.cause));
  } finally {
    await b.close();
  }
});

test("a request whose responder never answers is MIRROR_ERR_TIMEOUT (nats.js TimeoutError)", async () => {
  const b = await bus("timeout-test");
  const silentResponder = await connect({ servers: nats.url });
  try {
    silentResponder.subscribe(echo.subject, { callback: () => {} });
    await silentResponder.flush();
    const started = Date.now();
    const err = await failure(b.request(echo, { n: 1 }, { timeout: 300 }));
    assert.ok(err instanceof RequestError);
    assert.equal(err.code, "MIRROR_ERR_TIMEOUT");
    assert.ok(isTimeout(err.cause) && !isNoResponders(err.cause));
    assert.ok(Date.now() - started < 5_000);
  } finally {
    await silentResponder.close();
    await b.close();
  }
});

test("a wrong stream or consumer name is told apart by JetStream's err_code, and a missing durable is MIRROR_ERR_NO_CONSUMER", async () => {
  const b = await bus("js-test");
  try {
    const jsm = await jetstreamManager(raw(b).nc);
    const noStream = await failure(jsm.streams.info("NO_SUCH_STREAM"));
    assert.equal(jetStreamApiCode(noStream), JS_ERR.StreamNotFound);
    assert.ok(isStreamNotFound(noStream) && !isConsumerNotFound(noStream));
    const noConsumer = await failure(jsm.consumers.info(STREAM.name, "no-such-durable"));
    assert.equal(jetStreamApiCode(noConsumer), JS_ERR.ConsumerNotFound);
    assert.ok(isConsumerNotFound(noConsumer) && !isStreamNotFound(noConsumer));
    assert.equal(jetStreamApiCode(new Error("consumer not found")), undefined, "the text alone classifies nothing");

    const err = await failure(bindDurable(jsm, "no-such-durable"));
    assert.ok(err instanceof BusError);
    assert.equal(err.code, "MIRROR_ERR_NO_CONSUMER");
    assert.equal(err.retryable, true);
    assert.ok(isConsumerNotFound(err.cause));
    // Any other failure of the same call is not mistaken for a missing durable.
    const other = await failure(bindDurable(jsm, "bad.name"));
    assert.ok(!(other instanceof BusError) || other.code !== "MIRROR_ERR_NO_CONSUMER");
  } finally {
    await b.close();
  }
});

test("a consumer that exists with other settings is told by its err_code, not by 'already' in the text", async () => {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "EXISTS_TEST", subjects: ["exists-test.>"] });
    const base = { ack_policy: "explicit", deliver_policy: "all" } as const;
    await jsm.consumers.add("EXISTS_TEST", {
      durable_name: "push",
      ...base,
      deliver_subject: "exists-test-dlv.a",
    } as never);
    nc.subscribe("exists-test-dlv.a", { callback: () => {} });
    await nc.flush();
    // The same name for a push consumer someone is receiving from, with another deliver subject.
    const inUse = await failure(
      jsm.consumers.add("EXISTS_TEST", {
        durable_name: "push",
        ...base,
        deliver_subject: "exists-test-dlv.b",
      } as never),
    );
    assert.equal(jetStreamApiCode(inUse), JS_ERR.ConsumerNameExists);
    assert.ok(isConsumerExists(inUse));
    // A setting the server cannot change on an existing consumer is another failure (err_code 10012).
    const cannot = await failure(
      jsm.consumers.add("EXISTS_TEST", {
        durable_name: "push",
        ...base,
        ack_policy: "none",
        deliver_subject: "exists-test-dlv.a",
      } as never),
    );
    assert.ok(jetStreamApiCode(cannot) !== undefined && !isConsumerExists(cannot));
  } finally {
    await nc.close();
  }
});

test("a message over max_payload is MIRROR_ERR_TOO_LARGE at once, not retried until the deadline", async () => {
  const b = await bus("big-test");
  try {
    const started = Date.now();
    const err = await failure(b.publishRaw(heartbeat.subject("big"), new Uint8Array(2 * 1024 * 1024), {}, "big-1"));
    assert.ok(err instanceof BusError);
    assert.equal(err.code, "MIRROR_ERR_TOO_LARGE");
    assert.equal(err.retryable, false);
    assert.ok(Date.now() - started < 5_000, "no retries");
  } finally {
    await b.close();
  }
});

test("refused credentials are MIRROR_ERR_AUTH and a refused publish MIRROR_ERR_PERMISSION (nats.js AuthorizationError, PermissionViolationError)", async () => {
  const err = await failure(bus("anon-test", locked.url, { waitForServer: false }));
  assert.ok(err instanceof BusError);
  assert.equal(err.code, "MIRROR_ERR_AUTH");
  assert.ok(isAuthorizationError(err.cause));

  const admin = await bus("admin-test", locked.url, { auth: { user: "admin", pass: "admin-pass" } });
  const limited = await bus("limited-test", locked.url, {
    auth: { user: "limited", pass: "limited-pass" },
    manageStreams: false,
  });
  try {
    const ok = await limited.publish(heartbeat, "allowed", {
      name: "allowed",
      kind: "success",
      at: new Date().toISOString(),
    });
    assert.ok(ok.seq > 0);
    const denied = await failure(
      limited.publish(heartbeat, "denied", { name: "denied", kind: "success", at: new Date().toISOString() }),
    );
    assert.ok(denied instanceof BusError);
    assert.equal(denied.code, "MIRROR_ERR_PERMISSION");
    assert.ok(isPermissionViolation(denied.cause));
  } finally {
    await limited.close();
    await admin.close();
  }
});
