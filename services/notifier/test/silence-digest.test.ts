import assert from "node:assert/strict";
import { test } from "node:test";
import { endpoint } from "@mirror/bus";
import { loopsList, modelDigest, silenceList } from "@mirror/contracts";
import { ManualClock } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { run as silenceCli } from "../../../packages/cli/src/commands/silence.js";
import { Harness, makeLoop } from "./harness.js";

interface Am {
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}
const repos = (body: unknown) => (body as Am).alerts.map((a) => a.labels.repo).sort();

test("`mirror silence` mutes matching loops until it is expired; the group then reports them", async () => {
  const h = await Harness.start();
  const clock = new ManualClock();
  const env = { MIRROR_NATS_URL: h.nats.url, MIRROR_REDIS_URL: h.redis.url };
  try {
    await h.startNotifier(
      `{ groupWait: 0s, groupInterval: 1m, channels: [ { name: hook, type: webhook, url: "RECEIVER" } ] }`,
      { clock },
    );
    assert.equal(await silenceCli(["add", "repo=/a", "--for", "2h", "--comment", "moving house"], env), 0);
    assert.equal(await silenceCli(["add", "repo=~(", "--for", "2h"], env), 1, "a bad regex is refused");
    assert.equal(await silenceCli(["add", "repo=/x"], env), 1, "a silence needs an end");
    const { silences } = await h.publisher.request(silenceList, {});
    assert.equal(silences.length, 1);
    assert.equal(silences[0]?.comment, "moving house");
    await h.publish(makeLoop({ repo: "/a" }));
    await h.publish(makeLoop({ repo: "/b" }));
    const redis = h.store();
    await waitFor("both loops recorded", async () => (await redis.keys("mirror:notifier:loop:*")).length === 2);
    redis.disconnect();
    clock.advance(1);
    const first = await h.receiver.waitFor("the unsilenced loop", () => true);
    assert.deepEqual(repos(first.json), ["/b"]);
    assert.equal(await silenceCli(["expire", silences[0]?.id ?? ""], env), 0);
    clock.advance(60_000);
    const second = await h.receiver.waitFor("the loop after its silence", (r) => repos(r.json).length === 2);
    assert.deepEqual(repos(second.json), ["/a", "/b"]);
  } finally {
    await h.stop();
  }
});

test("the digest asks for open loops and a model summary at its cron time", async () => {
  const h = await Harness.start();
  const clock = new ManualClock(Date.parse("2026-03-02T07:59:00Z"));
  const loops = [makeLoop({ repo: "/a" }), makeLoop({ repo: "/b", status: "closed" })];
  let asked: number | undefined;
  await h.publisher.service({
    name: "fake-mesh",
    version: "1.0.0",
    endpoints: [
      endpoint(loopsList, async () => ({ loops })),
      endpoint(modelDigest, async (req) => {
        asked = req.loops.length;
        return { adapter: "test", model: "test", title: "Morning digest", text: "1 open loop: /a is dirty" };
      }),
    ],
  });
  try {
    await h.startNotifier(
      `{ digest: { cron: "0 8 * * *", tz: UTC, channels: [ hook ] }, channels: [ { name: hook, type: webhook, url: "RECEIVER" } ] }`,
      { clock },
    );
    const redis = h.store();
    await waitFor(
      "the next digest time is planned",
      async () => (await redis.get("digest:next")) === String(Date.parse("2026-03-02T08:00:00Z")),
    );
    redis.disconnect();
    assert.equal(h.receiver.requests.length, 0);
    clock.advance(60_000);
    const r = await h.receiver.waitFor("the digest", () => true);
    const alert = (r.json as Am).alerts[0];
    assert.equal(alert?.labels.alertname, "MirrorDigest");
    assert.equal(alert?.annotations.summary, "Morning digest");
    assert.equal(alert?.annotations.description, "1 open loop: /a is dirty");
    assert.equal(asked, 1, "only open loops are summarised");
  } finally {
    await h.stop();
  }
});
