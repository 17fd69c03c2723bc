import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { NotifyOutcome } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { jetstreamManager } from "@nats-io/jetstream";
import { Harness, makeLoop } from "./harness.js";
import { raw } from "@mirror/bus/testing";

test("a delivery in flight when the notifier stops is finished: its receipt is published before the connection closes", async () => {
  const h = await Harness.start();
  // A webhook receiver that holds its answer until the test lets it go.
  let release: (() => void) | undefined;
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      release = () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      };
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const svc = await h.startNotifier(
      `{ groupWait: 0s, channels: [ { name: held, type: webhook, url: "http://127.0.0.1:${port}/" } ] }`,
    );
    await h.publish(makeLoop());
    await waitFor("the webhook request, held", () => received === 1 && release !== undefined);
    const stopped = svc.stop();
    // Consuming has stopped and the service's own stop waits for the delivery in flight.
    await waitFor("the notifier stopping its own work", () => svc.step === "service");
    release?.();
    await stopped;
    const jsm = await jetstreamManager(raw(h.publisher).nc);
    const m = await jsm.streams.getMessage("MIRROR", { last_by_subj: "mirror.notify.sent.held" }).catch(() => null);
    assert.ok(m, "the receipt of the delivery that was in flight is on the stream");
    assert.equal(NotifyOutcome.parse(m.json()).attempt, 1);
    const redis = h.store();
    assert.deepEqual(
      await redis.keys("mirror:notifier:delivery:*"),
      [],
      "the delivery is finished, not left to its lease",
    );
    redis.disconnect();
    assert.equal(received, 1, "sent once");
    assert.ok(!h.logs.some((l) => l.msg === "stop step did not finish in time; going on"), "no step was cut short");
  } finally {
    server.closeAllConnections();
    server.close();
    h.svc = undefined;
    await h.stop();
  }
});
