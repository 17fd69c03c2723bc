// The readers the metrics and dashboard lint tests rest on: the exposition parser and the
// extraction of metric names from PromQL and Grafana queries.
import assert from "node:assert/strict";
import { test } from "node:test";
import { familyOf, metricNamesIn, parseExposition } from "./exposition.js";
import { asPromQL } from "./queries.js";

const TEXT = `# HELP mirror_bus_handle_seconds Time spent handling one consumed message
# TYPE mirror_bus_handle_seconds histogram
mirror_bus_handle_seconds_bucket{le="0.1",subject="mirror.repo.snapshot"} 3
mirror_bus_handle_seconds_bucket{le="+Inf",subject="mirror.repo.snapshot"} 4
mirror_bus_handle_seconds_sum{subject="mirror.repo.snapshot"} 0.25
mirror_bus_handle_seconds_count{subject="mirror.repo.snapshot"} 4
# HELP mirror_loops_open Loops not closed
# TYPE mirror_loops_open gauge
mirror_loops_open{kind="repo.dirty",severity="low",note="a \\"quoted\\" value"} 2
# TYPE mirror_bus_dlq_total counter
`;

test("the exposition parser reads families, their types and samples with escaped labels", () => {
  const f = parseExposition(TEXT);
  assert.equal(f.get("mirror_bus_handle_seconds")?.type, "histogram");
  assert.equal(f.get("mirror_bus_handle_seconds")?.samples.length, 4);
  assert.equal(familyOf(f, "mirror_bus_handle_seconds_bucket")?.name, "mirror_bus_handle_seconds");
  assert.equal(familyOf(f, "mirror_loops_open_count"), undefined, "a gauge has no _count series");
  assert.deepEqual(f.get("mirror_loops_open")?.samples[0], {
    name: "mirror_loops_open",
    labels: { kind: "repo.dirty", severity: "low", note: 'a "quoted" value' },
    value: 2,
  });
  assert.equal(f.get("mirror_bus_dlq_total")?.type, "counter", "a family without samples is still exported");
  assert.throws(() => parseExposition("mirror_undeclared 1\n"), /no # TYPE line/);
});

test("metric names are found in PromQL, not in label values or Grafana variables", () => {
  assert.deepEqual(
    metricNamesIn(
      'histogram_quantile(0.95, sum by (le) (rate(mirror_bus_handle_seconds_bucket{subject="mirror_fake_total"}[$__rate_interval]))) / on() group_left max(process_cpu_seconds_total)',
    ),
    ["mirror_bus_handle_seconds_bucket", "process_cpu_seconds_total"],
  );
  assert.deepEqual(metricNamesIn('up{job="mirror"} == 0'), []);
});

test("Grafana queries become plain PromQL for promtool", () => {
  assert.equal(asPromQL('rate(x{service=~"$service"}[$__rate_interval])'), 'rate(x{service=~".*"}[5m])');
  assert.equal(asPromQL('label_values(up{job="mirror"}, service)'), 'up{job="mirror"}');
});
