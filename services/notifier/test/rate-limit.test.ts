import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { Harness, makeLoop } from "./harness.js";

test("a channel's rate limit holds extra messages until the next window instead of dropping them", async () => {
  const h = await Harness.start();
  const clock = new ManualClock();
  try {
    const svc = await h.startNotifier(
      `{ groupWait: 0s, groupBy: [alertname, repo], channels: [ { name: hook, type: webhook, url: "RECEIVER", rateLimit: { max: 1, per: 1m } } ] }`,
      { clock },
    );
    await h.publish(makeLoop({ repo: "/a" }));
    await h.publish(makeLoop({ repo: "/b" }));
    await h.receiver.waitFor("the first message", () => true);
    await waitFor("the second held by the rate limit", async () =>
      /outcome="rate_limited"\} [1-9]/.test(
        await svc.ctx.registry.getSingleMetricAsString("mirror_notify_deliveries_total"),
      ),
    );
    assert.equal(h.receiver.requests.length, 1);
    clock.advance(60_000);
    await waitFor("the second message in the next window", () => h.receiver.requests.length === 2);
    const repos = h.receiver.requests
      .map((r) => (r.json as { alerts: { labels: { repo: string } }[] }).alerts[0]?.labels.repo)
      .sort();
    assert.deepEqual(repos, ["/a", "/b"]);
  } finally {
    await h.stop();
  }
});
