// Remote probe sites in the loop-detector (issue 24): per-site statuses aggregated by quorum, one
// site.unreachable for a silent site (on the injected clock), statuses from a site where a check
// does not run ignored and counted, and a one-site mesh unchanged.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Loop, ServiceStatus } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { aggregateSites } from "../src/sites.js";
import type { Observation } from "../src/state.js";
import { Harness } from "./harness.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");

function obs(site: string, state: ServiceStatus["state"], sinceMs: number, at = T0): Observation {
  const data: ServiceStatus = {
    name: "web",
    kind: "http",
    state,
    observedAt: new Date(at).toISOString(),
    seq: at,
    since: new Date(sinceMs).toISOString(),
    latencyMs: null,
    reason: state === "up" ? null : `${site}: refused`,
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
    site,
  };
  return { source: "service", at, seq: at, data };
}

const state = (o: Observation | null) => (o?.data as ServiceStatus | undefined)?.state;
const details = (o: Observation | null) => (o?.data as ServiceStatus | undefined)?.details ?? {};
const data = (o: Observation | null) => o?.data as ServiceStatus | undefined;

test("aggregateSites: quorum over the reachable sites, the sites named, since when the quorum was reached", () => {
  const at = ["home", "office"];
  const none = new Set<string>();
  // Down from one of two, quorum 2: up.
  assert.equal(
    state(aggregateSites({ home: obs("home", "up", T0), office: obs("office", "down", T0) }, at, 2, none)),
    "up",
  );
  // Only one site heard so far, down, quorum 2: not down yet.
  assert.equal(state(aggregateSites({ office: obs("office", "down", T0) }, at, 2, none)), "up");
  // Down from both: down since the second one turned down, both named.
  const both = aggregateSites(
    { home: obs("home", "down", T0 + 5_000), office: obs("office", "down", T0) },
    at,
    2,
    none,
  );
  assert.equal(state(both), "down");
  assert.equal(data(both)?.since, new Date(T0 + 5_000).toISOString());
  assert.deepEqual(details(both).badSites, ["home", "office"]);
  assert.equal(data(both)?.site, undefined);
  // Quorum 1: one site is enough.
  const one = aggregateSites({ home: obs("home", "up", T0), office: obs("office", "down", T0) }, at, 1, none);
  assert.equal(state(one), "down");
  assert.deepEqual(details(one).badSites, ["office"]);
  // Degraded counts down and degraded together.
  assert.equal(
    state(aggregateSites({ home: obs("home", "degraded", T0), office: obs("office", "down", T0) }, at, 2, none)),
    "degraded",
  );
  // The office unreachable: its status does not count, and the quorum is what is reachable.
  const gone = new Set(["office"]);
  assert.equal(
    state(aggregateSites({ home: obs("home", "up", T0), office: obs("office", "down", T0) }, at, 1, gone)),
    "up",
  );
  assert.equal(
    state(aggregateSites({ home: obs("home", "down", T0), office: obs("office", "up", T0) }, at, 2, gone)),
    "down",
  );
  // Nothing reachable said anything: null (loops stay as they are).
  assert.equal(aggregateSites({ office: obs("office", "down", T0) }, at, 2, gone), null);
});

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.stop();
});

const YAML = `tracker:
  sites: [home, office]
  resyncEvery: 10s
  siteMissed: 3
  checks:
    - { name: web, http: { url: "http://127.0.0.1:1/" } }
    - { name: nas, sites: [home], http: { url: "http://127.0.0.1:1/" } }
loops: { tick: 50ms, triage: false, rules: { service.down: { after: 0s } } }
`;

test("a silent site opens one site.unreachable on the injected clock and it closes when the site is heard; an unassigned status is ignored and counted", async () => {
  const d = await h.detector(YAML);
  const loops = async (): Promise<Loop[]> =>
    ((await h.http(d, "GET", "/loops")).json as unknown as { loops: Loop[] }).loops;
  const active = async (kind: string) => (await loops()).filter((l) => l.kind === kind && l.status !== "closed");
  await h.publishStatus({ name: "web", state: "up", site: "home" });
  await h.publishStatus({ name: "web", state: "up", site: "office" });
  await h.publishStatus({ name: "nas", state: "up", site: "home" });
  await h.settled("loop-detector-service");
  // 20 s on: nobody is silent long enough (3 x 10 s).
  h.clock.advance(20_000);
  await h.publishStatus({ name: "web", state: "up", site: "home" });
  await h.settled("loop-detector-service");
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await active("site.unreachable"), []);
  // 31 s after the office was last heard (home heard again meanwhile): one loop, for office.
  h.clock.advance(11_000);
  await h.publishStatus({ name: "web", state: "up", site: "home" });
  await h.publishStatus({ name: "nas", state: "up", site: "home" });
  const [loop] = await waitFor("site.unreachable", async () => {
    const l = await active("site.unreachable");
    return l.length ? l : undefined;
  });
  assert.ok(loop);
  assert.equal(loop.entity.type, "site");
  assert.equal(loop.entity.site, "office");
  assert.match(loop.summary, /probe site office is unreachable/);
  assert.deepEqual(loop.evidence.checks, ["web"]);
  // The office's web was up; home sees it down now: with office unreachable, home alone is the quorum.
  await h.publishStatus({ name: "web", state: "down", site: "home" });
  const [down] = await waitFor("web down from home", async () => {
    const l = await active("service.down");
    return l.length ? l : undefined;
  });
  assert.match(down?.summary ?? "", /web is down from home$/);
  assert.equal((await active("site.unreachable")).length, 1, "one loop for the site");

  // The office is heard again: its loop closes, and its up status counts (quorum 2: web is up).
  await h.publishStatus({ name: "web", state: "up", site: "office" });
  await waitFor("site.unreachable closed", async () => (await active("site.unreachable")).length === 0);
  await waitFor("web up by quorum", async () => (await active("service.down")).length === 0);

  // A status from the office for nas, which runs only at home: ignored, counted, no loop.
  await h.publishStatus({ name: "nas", state: "down", site: "office" });
  // A name no check has, from a remote site: ignored too (mesh members only come from the hub).
  await h.publishStatus({ name: "ghost", state: "down", site: "office" });
  await h.settled("loop-detector-service");
  const metrics = await (
    await fetch(`http://127.0.0.1:${d.port}/metrics`, { headers: { authorization: `Bearer ${d.httpToken}` } })
  ).text();
  assert.match(metrics, /mirror_loop_site_status_ignored_total\{site="office",reason="not_assigned"\} 2/);
  assert.equal(
    (await loops()).some((l) => l.entity.service === "nas" || l.entity.service === "ghost"),
    false,
  );
  await d.stop();
  h.detectors.splice(h.detectors.indexOf(d), 1);
});

test("one site: no site loops however long the tracker is silent, a status without a site is the hub's", async () => {
  const d = await h.detector(`tracker:
  checks:
    - { name: solo, http: { url: "http://127.0.0.1:1/" } }
loops: { tick: 50ms, triage: false, rules: { service.down: { after: 0s } } }
`);
  await h.publishStatus({ name: "solo", state: "down" });
  await h.settled("loop-detector-service");
  h.clock.advance(3_600_000);
  await new Promise((r) => setTimeout(r, 300));
  const res = (await h.http(d, "GET", "/loops")).json as unknown as { loops: Loop[] };
  assert.equal(res.loops.filter((l) => l.kind === "site.unreachable" && l.status !== "closed").length, 0);
  const solo = res.loops.find((l) => l.entity.service === "solo" && l.kind === "service.down");
  assert.ok(solo, "the status without a site opened its loop as before");
  assert.equal(solo.summary, "solo is down");
});
