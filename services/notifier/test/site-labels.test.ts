// A site.unreachable alert (remote probe sites, issue 24) is labelled with the site.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loopLabels } from "../src/alert.js";
import { makeLoop } from "./harness.js";

test("a site.unreachable alert names the site in `site` and `instance`", () => {
  const l = loopLabels(makeLoop({ kind: "site.unreachable", entity: { type: "site", site: "office" } }));
  assert.equal(l.alertname, "site.unreachable");
  assert.equal(l.entity, "site");
  assert.equal(l.site, "office");
  assert.equal(l.instance, "office");
  assert.equal(l.job, "service-tracker");
});
