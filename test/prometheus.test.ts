// deploy/prometheus checked with Debian's promtool (.ci/run installs the `prometheus` package):
// the config and its rules are valid, the alert rules pass their unit tests, and every Grafana
// dashboard query is valid PromQL (checked as recording rules, since promtool parses those).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "@mirror/testkit";
import { parse, stringify } from "yaml";
import { alertQueries, asPromQL, dashboardQueries, PROMETHEUS } from "./observability/queries.js";

function promtool(...args: string[]): string {
  const r = spawnSync("promtool", args, { cwd: PROMETHEUS, encoding: "utf8" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
    assert.fail("promtool is not on PATH: .ci/run installs it (apt-get install prometheus)");
  }
  assert.equal(r.status, 0, `promtool ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

test("prometheus.yml is a valid config and finds alerts.yml", () => {
  assert.match(promtool("check", "config", "prometheus.yml"), /SUCCESS: 1 rule files found/);
});

test("alerts.yml is valid and covers the issue's alerts", () => {
  assert.match(promtool("check", "rules", "alerts.yml"), /SUCCESS: \d+ rules found/);
  const names = alertQueries().map((q) => q.where.replace("alerts.yml: ", ""));
  for (const name of [
    "MirrorServiceDown",
    "MirrorDeadLettersGrowing",
    "MirrorConsumerLagGrowing",
    "MirrorNotificationsFailing",
    "MirrorNatsDisconnected",
    "MirrorRedisDisconnected",
  ]) {
    assert.ok(names.includes(name), `alerts.yml has ${name}`);
  }
});

test("the alert rules pass their promtool unit tests, and every alert has one", () => {
  assert.match(promtool("test", "rules", "alerts.test.yml"), /SUCCESS/);
  const tested = readFileSync(join(PROMETHEUS, "alerts.test.yml"), "utf8");
  for (const q of alertQueries())
    assert.match(
      tested,
      new RegExp(`alertname: ${q.where.replace("alerts.yml: ", "")}\\b`),
      `${q.where} is unit-tested`,
    );
});

test("every alert on a counter's increase() is unit-tested from an absent series, not only from 0", () => {
  // A labelled counter that is not initialized appears at 1 on its first increment: a rule test
  // whose series starts at 0 hides that the alert would stay silent.
  const doc = parse(readFileSync(join(PROMETHEUS, "alerts.test.yml"), "utf8")) as {
    tests: {
      input_series: { series: string; values: string }[];
      alert_rule_test: { alertname: string; exp_alerts: unknown[] }[];
    }[];
  };
  for (const q of alertQueries().filter((a) => /increase\(mirror_\w+_total/.test(a.expr))) {
    const name = q.where.replace("alerts.yml: ", "");
    const counters = [...q.expr.matchAll(/increase\((mirror_\w+_total)/g)].map((m) => m[1] as string);
    const fromAbsent = doc.tests.some(
      (t) =>
        t.alert_rule_test.some((a) => a.alertname === name && a.exp_alerts.length > 0) &&
        t.input_series.some((s) => counters.some((c) => s.series.startsWith(c)) && s.values.trim().startsWith("_")),
    );
    assert.ok(fromAbsent, `${name} has a rule test that fires on a counter whose series starts absent ("_ ... 1")`);
  }
});

test("every dashboard query is valid PromQL", () => {
  const queries = dashboardQueries();
  assert.ok(queries.length > 10, "the dashboard has its panels");
  const rules = queries.map((q, i) => ({
    record: `dashboard:query_${i}`,
    expr: asPromQL(q.expr),
    labels: { where: q.where },
  }));
  const file = join(tempDir("mirror-promql-"), "dashboard-queries.yml");
  writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
  assert.match(promtool("check", "rules", file), new RegExp(`SUCCESS: ${rules.length} rules found`));
});
