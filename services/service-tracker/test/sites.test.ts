// Probe sites in the tracker's config (issue 24): what a tracker at a site runs, its replicas'
// partition group, and the config errors that name the check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkQuorum, checkSites, hubSite } from "@mirror/contracts";
import { ConfigError, parseConfig } from "@mirror/kit";
import { checksAtSite, shortestInterval, sitePartition } from "../src/replicas.js";

const YAML = (site: string) => `tracker:
  site: ${site}
  sites: [home, office]
  checks:
    - { name: web, interval: 10s, http: { url: "http://127.0.0.1:1/" } }
    - { name: nas, interval: 1s, sites: [home], http: { url: "http://127.0.0.1:1/" } }
    - { name: vpn, interval: 20s, sites: [office], quorum: 1, tcp: { host: 127.0.0.1, port: 1 } }
    - { name: backup, heartbeat: { every: 1h } }
`;

const errorOf = (yaml: string) => {
  try {
    parseConfig(yaml, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return (err as Error).message;
  }
  assert.fail("no config error");
};

test("a tracker runs its site's checks; heartbeats only at the hub site; partition per site", () => {
  const home = parseConfig(YAML("home"), {}).tracker;
  const office = parseConfig(YAML("office"), {}).tracker;
  const names = (t: typeof home) =>
    checksAtSite(
      t.checks.map((cfg) => ({ cfg })),
      t,
    ).map((c) => c.cfg.name);
  assert.deepEqual(names(home), ["web", "nas", "backup"]);
  assert.deepEqual(names(office), ["web", "vpn"]);
  assert.equal(hubSite(office), "home");
  assert.equal(sitePartition("home"), "checks", "the default site keeps the group it had before sites");
  assert.equal(sitePartition("office"), "checks-office");
  // The office's leases follow its own shortest interval (web 10s), not nas's 1s at home.
  assert.equal(shortestInterval({ ...office, mesh: { ...office.mesh, enabled: false } }), 10_000);
  const web = home.checks[0];
  assert.ok(web);
  assert.deepEqual(checkSites(web, home), ["home", "office"]);
  assert.equal(checkQuorum(web, home), 2, "default quorum: every site the check runs at");
});

test("defaults: no sites configured is one site, home, and every check runs there with quorum 1", () => {
  const t = parseConfig(`tracker: { checks: [ { name: web, http: { url: "http://127.0.0.1:1/" } } ] }`, {}).tracker;
  assert.equal(t.site, "home");
  const web = t.checks[0];
  assert.ok(web);
  assert.deepEqual(checkSites(web, t), ["home"]);
  assert.equal(checkQuorum(web, t), 1);
});

test("config errors name the check: an unknown site, a quorum above its sites, sites on a heartbeat, a site not listed", () => {
  assert.match(
    errorOf(`tracker:
  sites: [home, office]
  checks: [ { name: web, sites: [home, attic], http: { url: "http://127.0.0.1:1/" } } ]
`),
    /tracker\.checks\.0\.sites\.1: check "web": site "attic" is not one of tracker\.sites \(home, office\)/,
  );
  assert.match(
    errorOf(`tracker:
  sites: [home, office]
  checks: [ { name: web, quorum: 3, http: { url: "http://127.0.0.1:1/" } } ]
`),
    /tracker\.checks\.0\.quorum: check "web": quorum 3 is more than the 2 site\(s\) it runs at \(home, office\)/,
  );
  assert.match(
    errorOf(`tracker:
  sites: [home, office]
  checks: [ { name: job, sites: [office], heartbeat: { every: 1h } } ]
`),
    /check "job" is a heartbeat: it is judged at the hub site \(home\)/,
  );
  assert.match(
    errorOf("tracker: { site: attic, sites: [home] }\n"),
    /tracker\.site "attic" is not one of tracker\.sites/,
  );
});
