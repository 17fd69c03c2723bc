import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { NotifyOutcome } from "@mirror/contracts";
import { ManualClock } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { jetstreamManager } from "@nats-io/jetstream";
import { Harness, makeLoop } from "./harness.js";
import { raw } from "@mirror/bus/testing";

const SECRET = `whsec_${Buffer.from("a test secret of 24 bytes").toString("base64")}`;

/** Verifies a Standard Webhooks signature the way a receiver would. */
function verifies(headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const id = String(headers["webhook-id"]);
  const ts = String(headers["webhook-timestamp"]);
  const expected = createHmac("sha256", Buffer.from(SECRET.slice(6), "base64"))
    .update(`${id}.${ts}.${body}`)
    .digest("base64");
  return String(headers["webhook-signature"]).split(" ").includes(`v1,${expected}`);
}

test("three dirty repos within groupWait arrive as ONE signed webhook with three alerts", async () => {
  const h = await Harness.start();
  const clock = new ManualClock();
  try {
    await h.startNotifier(
      `{ groupWait: 3s, groupBy: [alertname], channels: [ { name: hook, type: webhook, url: "RECEIVER", secret: "${SECRET}" } ] }`,
      { clock },
    );
    const repos = ["/src/a", "/src/b", "/src/c"];
    for (const repo of repos) await h.publish(makeLoop({ repo }));
    const redis = h.store();
    await waitFor("three loops recorded", async () => (await redis.keys("mirror:notifier:loop:*")).length === 3);
    assert.equal(h.receiver.requests.length, 0, "nothing is sent before groupWait");
    clock.advance(3_000);
    const req = await h.receiver.waitFor("the grouped webhook", () => true);
    const body = req.json as { alerts: { labels: Record<string, string> }[]; status: string };
    assert.equal(body.status, "firing");
    assert.deepEqual(body.alerts.map((a) => a.labels.repo).sort(), repos);
    assert.ok(verifies(req.headers, req.body), "webhook-signature verifies per Standard Webhooks");
    redis.disconnect();
    const receipt = await waitFor("a notify.sent receipt", async () => {
      const jsm = await jetstreamManager(raw(h.publisher).nc);
      const m = await jsm.streams.getMessage("MIRROR", { last_by_subj: "mirror.notify.sent.hook" }).catch(() => null);
      return m ? NotifyOutcome.parse(m.json()) : undefined;
    });
    assert.equal(receipt.loopIds.length, 3);
    assert.equal(receipt.deliveryId, req.headers["webhook-id"]);
    assert.equal(h.receiver.requests.length, 1);
  } finally {
    await h.stop();
  }
});

test("a receiver that answers 500 twice ends up with exactly one delivery", async () => {
  const h = await Harness.start();
  try {
    h.receiver.respond((_r, i) => (i < 2 ? 500 : 200));
    await h.startNotifier(
      `{ groupWait: 0s, backoff: 20ms, channels: [ { name: hook, type: webhook, url: "RECEIVER" } ] }`,
    );
    await h.publish(makeLoop());
    await h.receiver.waitFor("the delivery", () => true);
    const jsm = await jetstreamManager(raw(h.publisher).nc);
    const receipt = await waitFor("a notify.sent receipt", async () => {
      const m = await jsm.streams.getMessage("MIRROR", { last_by_subj: "mirror.notify.sent.hook" }).catch(() => null);
      return m ? NotifyOutcome.parse(m.json()) : undefined;
    });
    assert.equal(receipt.attempt, 3);
    assert.equal(h.receiver.requests.length, 1);
  } finally {
    await h.stop();
  }
});
