// A check probed from several sites (tracker.sites): its history is the quorum of the sites'
// statuses, as the loop-detector decides it, against a real redis-server with a manual clock.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { TrackerConfig } from "@mirror/contracts";
import { type ServerHandle, startRedis } from "@mirror/testkit";
import { siteViews } from "../src/app.js";
import type { CheckSiteView } from "../src/recorder.js";
import { historyOn } from "./fixtures.js";

let redis: ServerHandle;
const opened: { store: { disconnect(): void } }[] = [];
const make = (views: Record<string, CheckSiteView>) => {
  const h = historyOn(redis.url, { sites: (check) => views[check] });
  opened.push(h);
  return h;
};
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const h of opened) h.store.disconnect();
  await redis?.dispose();
});

const TWO = { at: ["home", "office"], silentAfter: 600_000, hub: "home" };

/** Ten rounds, a second apart: home up (20 ms), office down (900 ms), each with its own since. */
async function homeUpOfficeDown(h: ReturnType<typeof make>, name: string): Promise<number> {
  const t0 = h.clock.now();
  for (let i = 0; i < 10; i++) {
    const home = h.observe(name, "up", { site: "home", sinceMs: t0 - 60_000, latencyMs: 20 });
    assert.equal(await h.recorder.record(home.status, home.id), "recorded");
    h.clock.advance(500);
    const office = h.observe(name, "down", { site: "office", sinceMs: t0, latencyMs: 900 });
    assert.equal(await h.recorder.record(office.status, `${office.id}@office`), "recorded");
    h.clock.advance(500);
  }
  return t0;
}

test("up from home, down from office, quorum of both: the check is up, no incident, home's response times", async () => {
  const h = make({ web: { ...TWO, quorum: 2 } });
  await homeUpOfficeDown(h, "web");
  const reply = await h.queries.check("web", "24h");
  assert.equal(reply.state, "up");
  assert.equal(reply.uptime["24h"], 1, "office alone seeing it down is not downtime");
  assert.equal(reply.incidents.length, 0);
  assert.equal(Math.max(...reply.series.map((p) => p.max)), 20, "only the first site's latencies are charted");
});

test("up from home, down from office, quorum 1: the check is down from when office saw it down", async () => {
  const h = make({ web: { ...TWO, quorum: 1 } });
  const t0 = await homeUpOfficeDown(h, "web");
  const reply = await h.queries.check("web", "24h");
  assert.equal(reply.state, "down");
  // The first home result was up (office not yet heard); all 19 after it are down.
  assert.equal(reply.uptime["24h"], 1 / 20);
  assert.equal(reply.incidents.length, 1);
  assert.equal(reply.incidents[0]?.start, new Date(t0).toISOString());
  assert.equal(reply.incidents[0]?.end, null);
  // Office is heard up again: the incident closes when it turned up.
  const upAt = h.clock.now();
  const office = h.observe("web", "up", { site: "office", sinceMs: upAt });
  await h.recorder.record(office.status, `${office.id}@office`);
  const after = await h.queries.check("web", "24h");
  assert.equal(after.state, "up");
  assert.equal(after.incidents[0]?.end, new Date(upAt).toISOString());
});

test("a status from a site the check does not run at is not recorded; one without a site is the hub's", async () => {
  const h = make({ web: { ...TWO, quorum: 1 }, nas: { at: ["home"], quorum: 1, silentAfter: 600_000, hub: "home" } });
  const lab = h.observe("web", "down", { site: "lab" });
  assert.equal(await h.recorder.record(lab.status, `${lab.id}@lab`), "other-site");
  const office = h.observe("nas", "down", { site: "office" });
  assert.equal(await h.recorder.record(office.status, `${office.id}@office`), "other-site");
  assert.equal((await h.queries.check("web", "24h")).known, false);
  const old = h.observe("nas", "down");
  delete old.status.site;
  assert.equal(await h.recorder.record(old.status, old.id), "recorded");
  assert.equal((await h.queries.check("nas", "24h")).state, "down");
});

test("a site silent for longer than silentAfter no longer counts", async () => {
  const h = make({ web: { ...TWO, quorum: 1 } });
  const office = h.observe("web", "down", { site: "office" });
  await h.recorder.record(office.status, `${office.id}@office`);
  assert.equal((await h.queries.check("web", "24h")).state, "down");
  h.clock.advance(TWO.silentAfter + 1_000);
  const home = h.observe("web", "up", { site: "home", sinceMs: h.clock.now() - 3_600_000 });
  await h.recorder.record(home.status, home.id);
  assert.equal((await h.queries.check("web", "24h")).state, "up");
});

test("the views follow tracker.sites: none for one site, each check's sites and quorum for several", () => {
  const one = TrackerConfig.parse({ checks: [{ name: "web", http: { url: "http://x/" } }] });
  assert.equal(siteViews(one), undefined);
  const two = TrackerConfig.parse({
    sites: ["home", "office"],
    checks: [
      { name: "web", http: { url: "http://x/" }, quorum: 1 },
      { name: "nas", http: { url: "http://y/" }, sites: ["office"] },
    ],
  });
  const v = siteViews(two);
  assert.deepEqual(v?.byCheck.get("web"), { at: ["home", "office"], quorum: 1, silentAfter: 600_000, hub: "home" });
  assert.deepEqual(v?.byCheck.get("nas")?.at, ["office"]);
  assert.deepEqual(v?.hubOnly.at, ["home"]);
});
