// Probe sites in the console, without a mesh: a site.unreachable loop is named by its site, and a
// check probed from two sites shows its first site's state live instead of flipping between them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Loop, type ServiceStatus, TrackerConfig } from "@mirror/contracts";
import { applyFilter, entityLabel, loopPage, loopRows } from "../src/pages/loops.js";
import { servicesPage } from "../src/pages/services.js";
import { SiteStates } from "../src/sites.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const at = new Date(NOW).toISOString();

function loop(entity: Loop["entity"], kind: string): Loop {
  return {
    id: "L1",
    kind,
    entity,
    severity: "high",
    status: "open",
    summary: `${kind} summary`,
    openedAt: at,
    updatedAt: at,
    closedAt: null,
    snoozedUntil: null,
    suppressedBy: [],
    rev: 1,
    evidence: {},
    triage: null,
    history: [],
  };
}

test("a site.unreachable loop is named by its site in the list, the loop page and the text filter", () => {
  const l = loop({ type: "site", site: "office" }, "site.unreachable");
  assert.equal(entityLabel(l), "office");
  assert.match(loopRows([l], NOW).text, /<td class="about">office<div/);
  const page = loopPage(
    { data: l, at: NOW },
    { user: "alice", role: "viewer", csrf: "x", via: "session" } as never,
    NOW,
  );
  assert.match(page.text, /<dd>site: office<\/dd>/);
  assert.deepEqual(
    applyFilter([l], { status: "active", q: "office" }).map((x) => x.id),
    ["L1"],
  );
  // The other kinds keep their names.
  assert.equal(entityLabel(loop({ type: "service", service: "web" }, "service.down")), "web");
  assert.equal(entityLabel(loop({ type: "repo", repo: "/r/a" }, "repo.dirty")), "/r/a");
  assert.equal(entityLabel(loop({ type: "site" }, "site.unreachable")), "?");
});

function status(name: string, state: ServiceStatus["state"], site?: string): ServiceStatus {
  return {
    name,
    kind: "http",
    state,
    observedAt: at,
    seq: 1,
    since: at,
    latencyMs: null,
    reason: null,
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
    ...(site ? { site } : {}),
  };
}

test("two sites probing one check: the live state is the first site's, the others are listed, never a flip", () => {
  const tracker = TrackerConfig.parse({
    sites: ["home", "office"],
    checks: [
      { name: "web", http: { url: "http://x/" } },
      { name: "vpn", http: { url: "http://y/" }, sites: ["office", "home"] },
      { name: "nas", http: { url: "http://z/" }, sites: ["home"] },
    ],
  });
  const s = new SiteStates(() => tracker);
  assert.deepEqual(s.see(status("web", "up", "home")), { state: "up", sites: { home: "up" } });
  assert.deepEqual(s.see(status("web", "down", "office")), { state: "up", sites: { home: "up", office: "down" } });
  assert.deepEqual(s.see(status("web", "up", "home")), { state: "up", sites: { home: "up", office: "down" } });
  // A status without a site is the hub's (home).
  assert.deepEqual(s.see(status("web", "degraded")), {
    state: "degraded",
    sites: { home: "degraded", office: "down" },
  });
  // A check whose first site is office shows office's state; before office is heard, unknown.
  assert.deepEqual(s.see(status("vpn", "up", "home")), { state: "unknown", sites: { home: "up" } });
  assert.deepEqual(s.see(status("vpn", "down", "office")), { state: "down", sites: { office: "down", home: "up" } });
  // A site the check does not run at is not shown.
  assert.equal(s.see(status("nas", "down", "office")), undefined);
  const page = servicesPage(
    {
      data: [{ name: "web", kind: "http", state: "degraded", since: at, reason: null }],
      at: NOW,
    },
    { data: [], at: NOW },
    NOW,
    (c) => s.view(c),
  ).text;
  assert.match(page, /degraded<div class="muted sites">home: degraded · office: down<\/div>/);
});

test("one site: every status is shown as it comes, with no site list (as before sites)", () => {
  const tracker = TrackerConfig.parse({ checks: [{ name: "web", http: { url: "http://x/" } }] });
  const s = new SiteStates(() => tracker);
  assert.deepEqual(s.see(status("web", "down", "home")), { state: "down" });
  assert.deepEqual(s.see(status("web", "up")), { state: "up" });
  assert.equal(s.view("web"), undefined);
});
