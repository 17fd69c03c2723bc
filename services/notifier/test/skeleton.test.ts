import assert from "node:assert/strict";
import { test } from "node:test";
import { Harness, makeLoop } from "./harness.js";

interface AmPayload {
  version: string;
  status: string;
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    fingerprint: string;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
  }[];
}

test("a loop reaches the webhook as firing in the Alertmanager v4 shape, and its close as resolved", async () => {
  const h = await Harness.start();
  try {
    await h.startNotifier(`{ groupWait: 0s, channels: [ { name: hook, type: webhook, url: "RECEIVER" } ] }`);
    const loop = makeLoop({ repo: "/home/me/src/app" });
    await h.publish(loop);
    const firing = await h.receiver.waitFor("firing", (r) => (r.json as AmPayload).status === "firing");
    const body = firing.json as AmPayload;
    assert.equal(body.version, "4");
    assert.equal(body.receiver, "hook");
    assert.deepEqual(body.groupLabels, { alertname: "repo.dirty" });
    assert.equal(body.alerts.length, 1);
    const [alert] = body.alerts;
    assert.equal(alert?.labels.alertname, "repo.dirty");
    assert.equal(alert?.labels.repo, "/home/me/src/app");
    assert.equal(alert?.labels.loop_id, loop.id);
    assert.equal(alert?.fingerprint, loop.id);
    assert.equal(alert?.annotations.summary, loop.summary);
    assert.equal(alert?.endsAt, "0001-01-01T00:00:00Z");
    assert.ok(firing.headers["webhook-id"]);

    await h.publish({ ...loop, status: "closed", rev: 2, closedAt: "2026-01-01T01:00:00.000Z" });
    const resolved = await h.receiver.waitFor("resolved", (r) => (r.json as AmPayload).status === "resolved");
    const rb = resolved.json as AmPayload;
    assert.equal(rb.alerts[0]?.status, "resolved");
    assert.equal(rb.alerts[0]?.endsAt, "2026-01-01T01:00:00.000Z");
    assert.equal(rb.groupKey, body.groupKey);
    assert.notEqual(resolved.headers["webhook-id"], firing.headers["webhook-id"]);
    assert.equal(h.receiver.requests.length, 2);
  } finally {
    await h.stop();
  }
});
