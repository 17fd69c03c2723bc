import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { Harness, makeLoop } from "./harness.js";

test("quiet hours through the running service: critical passes, the rest arrives as one catch-up (with what closed meanwhile)", async () => {
  const h = await Harness.start();
  const clock = new ManualClock(Date.parse("2026-01-10T23:00:00Z"));
  try {
    await h.startNotifier(
      `{ groupWait: 0s, groupInterval: 1m, repeatInterval: 24h,
         quietHours: { from: "22:00", to: "07:00", tz: UTC, except: [critical] },
         channels: [ { name: phone, type: ntfy, url: "RECEIVERtopic" } ] }`,
      { clock },
    );
    const a = makeLoop({ repo: "/a" });
    await h.publish(a);
    await h.publish(makeLoop({ repo: "/b" }));
    await h.publish(makeLoop({ repo: "/db", severity: "critical" }));
    const redis = h.store();
    await waitFor("three loops recorded", async () => (await redis.keys("mirror:notifier:loop:*")).length === 3);
    clock.advance(1);
    const crit = await h.receiver.waitFor("the critical loop", () => true);
    assert.match(crit.body, /\/db/);
    assert.doesNotMatch(crit.body, /\/a|\/b/);
    await h.publish({ ...a, status: "closed", rev: 2 });
    await waitFor("the close recorded", async () => (await redis.get(`loop:${a.id}`))?.includes('"rev":2'));
    clock.set(Date.parse("2026-01-11T06:59:00Z"));
    await waitFor("a flush late in the night", async () => {
      const [key] = await redis.keys("mirror:notifier:group:*");
      const raw = key ? await redis.get(key.replace("mirror:notifier:", "")) : null;
      return raw !== null && (JSON.parse(raw) as { nextFlushAt: number }).nextFlushAt > clock.now();
    });
    assert.equal(h.receiver.requests.length, 1, "nothing else during the night");
    clock.set(Date.parse("2026-01-11T07:00:00Z"));
    const catchUp = await h.receiver.waitFor("the catch-up", (r) => r !== crit);
    assert.equal(h.receiver.requests.length, 2);
    assert.match(String(catchUp.headers.title), /^\[catch-up\] \[FIRING:2\] repo\.dirty$/);
    assert.match(catchUp.body, /^Held back during quiet hours:/);
    assert.match(catchUp.body, /✅ resolved · repo\.dirty · \/a/);
    assert.match(catchUp.body, /\/b/);
    redis.disconnect();
  } finally {
    await h.stop();
  }
});
