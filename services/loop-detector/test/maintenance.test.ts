import assert from "node:assert/strict";
import { test } from "node:test";
import { LoopsConfig } from "@mirror/contracts";
import fc from "fast-check";
import { CronError, MaintenanceWindows, matches, parseCron } from "../src/maintenance.js";
import { reconcile } from "../src/reconcile.js";
import type { Condition } from "../src/rules/rule.js";
import { emptyState, type EntityState, wakeAt } from "../src/state.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const M = 60_000;
const H = 60 * M;
const entity = { type: "service" as const, service: "redis" };
const down = (): Condition => ({
  kind: "service.down",
  severity: "high",
  summary: "redis is down",
  evidence: {},
  since: null,
  after: 0,
});
const windows = (w: unknown[]) => new MaintenanceWindows(LoopsConfig.parse({ maintenance: w }).maintenance);

function rec(state: EntityState, conditions: Condition[], now: number, mw: MaintenanceWindows) {
  const m = reconcile(state, conditions, now, {
    suppressedBy: [],
    historyLimit: 50,
    maintenance: (kind) => mw.covering(state.entity, kind, now),
  });
  return { state: m.state, changes: m.changes };
}

test("a one-off window: a loop opens in status maintenance (maintenance:<name> in suppressedBy), is looked at again when the window ends, and is open (notified) then", () => {
  const mw = windows([
    {
      name: "backup",
      match: { check: ["redis"] },
      start: new Date(T0 - M).toISOString(),
      end: new Date(T0 + 20 * M).toISOString(),
    },
  ]);
  const first = rec(emptyState(entity), [down()], T0, mw);
  const loop = first.state.loops["service.down"]?.loop;
  assert.equal(loop?.status, "maintenance");
  assert.deepEqual(loop?.suppressedBy, ["maintenance:backup"]);
  assert.equal(first.changes[0]?.reason, "opened maintenance");
  assert.equal(wakeAt(first.state), T0 + 20 * M, "the tick looks again when the window ends");
  // Still down after the window: the loop becomes open, which the notifier sends.
  const after = rec(first.state, [down()], T0 + 20 * M, mw);
  assert.equal(after.state.loops["service.down"]?.loop.status, "open");
  assert.deepEqual(after.state.loops["service.down"]?.loop.suppressedBy, []);
  assert.equal(after.changes[0]?.reason, "unsuppressed");
  assert.equal(after.state.loops["service.down"]?.loop.history.at(-1)?.note, "maintenance ended");
});

test("a check that recovers inside the window closes a loop that was never open (nothing to notify)", () => {
  const mw = windows([
    {
      name: "backup",
      match: { check: ["redis"] },
      start: new Date(T0).toISOString(),
      end: new Date(T0 + H).toISOString(),
    },
  ]);
  const first = rec(emptyState(entity), [down()], T0 + M, mw);
  const closed = rec(first.state, [], T0 + 2 * M, mw);
  const l = closed.state.loops["service.down"]?.loop;
  assert.equal(l?.status, "closed");
  assert.deepEqual(
    l?.history.map((h) => h.to),
    ["maintenance", "closed"],
    "never open: the notifier muted it all along",
  );
});

test("match: check, repo and kind lists must all hold; other entities and kinds are not covered", () => {
  const mw = windows([
    {
      name: "deploys",
      match: { check: ["redis"], kind: ["service.down"] },
      start: new Date(T0).toISOString(),
      end: new Date(T0 + H).toISOString(),
    },
  ]);
  assert.equal(mw.covering(entity, "service.down", T0 + M).length, 1);
  assert.equal(mw.covering(entity, "service.degraded", T0 + M).length, 0);
  assert.equal(mw.covering({ type: "service", service: "web" }, "service.down", T0 + M).length, 0);
  assert.equal(mw.covering(entity, "service.down", T0 + H).length, 0, "the end is exclusive");
  assert.equal(matches({ repo: ["/r/x"] }, { type: "repo", repo: "/r/x" }, "repo.dirty"), true);
  assert.equal(matches({ repo: ["/r/x"] }, entity, "service.down"), false);
  const other = rec(emptyState({ type: "service", service: "web" }), [down()], T0 + M, mw);
  assert.equal(other.state.loops["service.down"]?.loop.status, "open");
});

test("a recurring window: on from each cron time (in its time zone) for `duration`", () => {
  // Sundays 02:00 in Berlin (CET, UTC+1 in March before the switch): 2026-03-01 is a Sunday.
  const mw = windows([
    { name: "weekly", match: { kind: ["service.down"] }, cron: "0 2 * * 0", duration: "2h", tz: "Europe/Berlin" },
  ]);
  const start = Date.parse("2026-03-01T01:00:00Z");
  assert.deepEqual(mw.openAt(start - M), []);
  assert.deepEqual(
    mw.openAt(start).map((w) => [w.name, w.end]),
    [["weekly", start + 2 * H]],
  );
  assert.equal(mw.openAt(start + 2 * H - M).length, 1);
  assert.equal(mw.openAt(start + 2 * H).length, 0);
  assert.equal(mw.openAt(start + 7 * 24 * H + 30 * M).length, 1, "and again a week later");
  assert.equal(mw.openAt(start + 24 * H + 30 * M).length, 0, "not on Monday");
  assert.deepEqual([...(parseCron("*/15 1-3 * * 7")[0] ?? [])], [0, 15, 30, 45]);
  assert.deepEqual([...(parseCron("*/15 1-3 * * 7")[4] ?? [])], [0], "weekday 7 is Sunday");
});

test("bad windows in loops.maintenance name their key path", () => {
  const problems = (w: unknown) => {
    const r = LoopsConfig.safeParse({ maintenance: [w] });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.match(
    problems({ name: "x", match: { check: ["a"] }, cron: "75 2 * * 0", duration: "2h" }).join("\n"),
    /maintenance\.0\.cron: "75"/,
  );
  assert.match(
    problems({ name: "x", match: { check: ["a"] }, cron: "0 2 * * 0", duration: "2h", tz: "Mars/Base" }).join("\n"),
    /maintenance\.0\.tz: unknown time zone/,
  );
  assert.match(
    problems({ name: "x", match: {}, start: "2026-01-01T00:00:00Z", end: "2026-01-01T01:00:00Z" }).join("\n"),
    /maintenance\.0\.match: match needs/,
  );
  assert.match(
    problems({ name: "x", match: { check: ["a"] }, start: "2026-01-01T02:00:00Z", end: "2026-01-01T01:00:00Z" }).join(
      "\n",
    ),
    /maintenance\.0\.end: `end` must be after `start`/,
  );
  assert.match(
    problems({ name: "x", match: { check: ["a"] }, cron: "0 2 * * 0" }).join("\n"),
    /needs both `cron` and a `duration`/,
  );
});

test("property: the config schema and the detector agree on which cron expressions are valid", () => {
  const field = fc.oneof(
    fc.constant("*"),
    fc.nat(70).map(String),
    fc.tuple(fc.nat(40), fc.nat(40)).map(([a, b]) => `${a}-${b}`),
    fc.nat(20).map((n) => `*/${n}`),
    fc.string({ maxLength: 4 }),
  );
  fc.assert(
    fc.property(fc.array(field, { minLength: 4, maxLength: 6 }), (fields) => {
      const expr = fields.join(" ");
      let parsed = true;
      try {
        parseCron(expr);
      } catch (err) {
        assert.ok(err instanceof CronError);
        parsed = false;
      }
      const schema = LoopsConfig.safeParse({
        maintenance: [{ name: "w", match: { kind: ["x"] }, cron: expr, duration: "1h" }],
      }).success;
      assert.equal(schema, parsed, expr);
    }),
  );
});
