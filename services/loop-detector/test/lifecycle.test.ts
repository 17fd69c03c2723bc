import assert from "node:assert/strict";
import { test } from "node:test";
import { entityKey, loopId } from "@mirror/contracts";
import type { LoopCommandError } from "../src/errors.js";
import { applyCommand, type Command } from "../src/lifecycle.js";
import { snoozeEnd } from "../src/loop-api.js";
import { endSnoozes, reconcile } from "../src/reconcile.js";
import type { Condition } from "../src/rules/rule.js";
import { emptyState, type EntityState, wakeAt } from "../src/state.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const H = 3_600_000;
const entity = { type: "repo" as const, repo: "/r/x" };
const ID = loopId("repo.dirty", entityKey(entity));
const opts = { suppressedBy: [] as string[], historyLimit: 50 };
const dirty = (over: Partial<Condition> = {}): Condition => ({
  kind: "repo.dirty",
  severity: "low",
  summary: "dirty",
  evidence: {},
  since: T0,
  after: 0,
  ...over,
});

/** Runs reconcile and returns the new state and what it published. */
function rec(state: EntityState, conditions: Condition[], now: number, suppressedBy: string[] = []) {
  const m = reconcile(state, conditions, now, { ...opts, suppressedBy });
  return { state: m.state, events: m.changes.map((c) => `${c.event}:${c.loop.status}:${c.loop.rev}`) };
}
function cmd(state: EntityState, command: Command, now: number) {
  const m = applyCommand(state, { loopId: ID, command, by: "alice", now, historyLimit: 50 });
  return { state: m.state, loop: m.loop, events: m.changes.map((c) => `${c.event}:${c.loop.status}:${c.loop.rev}`) };
}
const opened = () => rec(emptyState(entity), [dirty()], T0).state;
const status = (s: EntityState) => s.loops["repo.dirty"]?.loop.status;

test("a condition opens a loop only once it has held for `after`, and the tick knows when", () => {
  const early = rec(emptyState(entity), [dirty({ after: 24 * H })], T0 + H);
  assert.deepEqual(early.events, []);
  assert.equal(wakeAt(early.state), T0 + 24 * H);
  const due = rec(early.state, [dirty({ after: 24 * H })], T0 + 24 * H);
  assert.deepEqual(due.events, ["opened:open:1"]);
  assert.equal(due.state.loops["repo.dirty"]?.loop.id, ID);
  assert.equal(wakeAt(due.state), null);
});

test("an unknown `since` counts from when the detector first saw the condition", () => {
  const first = rec(emptyState(entity), [dirty({ since: null, after: H })], T0);
  assert.deepEqual(first.events, []);
  assert.deepEqual(rec(first.state, [dirty({ since: null, after: H })], T0 + H - 1).events, []);
  assert.deepEqual(rec(first.state, [dirty({ since: null, after: H })], T0 + H).events, ["opened:open:1"]);
  const gone = rec(first.state, [], T0 + 1).state;
  assert.deepEqual(gone.firstSeen, {}, "a condition that stops holding starts again from zero");
});

test("the same input twice changes nothing", () => {
  const s = opened();
  assert.deepEqual(rec(s, [dirty()], T0 + 1).events, []);
});

test("open -> acknowledged -> closed when the condition clears (the close is published)", () => {
  const ack = cmd(opened(), { type: "ack" }, T0 + 1);
  assert.deepEqual(ack.events, ["updated:acknowledged:2"]);
  assert.equal(ack.loop.history.at(-1)?.by, "user:alice");
  assert.deepEqual(cmd(ack.state, { type: "ack" }, T0 + 2).events, [], "acknowledging twice is a no-op");
  assert.deepEqual(rec(ack.state, [dirty()], T0 + 3).events, [], "stays acknowledged while the condition holds");
  const cleared = rec(ack.state, [], T0 + 4);
  assert.deepEqual(cleared.events, ["closed:closed:3"]);
  assert.equal(cleared.state.loops["repo.dirty"]?.loop.history.at(-1)?.by, "rule:repo.dirty");
});

test("a snoozed loop re-opens at T if still true, and closes (published) if it clears first", () => {
  const s = cmd(opened(), { type: "snooze", until: T0 + 2 * H }, T0).state;
  assert.equal(status(s), "snoozed");
  assert.equal(wakeAt(s), T0 + 2 * H);
  assert.deepEqual(rec(s, [dirty()], T0 + H).events, []);
  assert.deepEqual(rec(s, [dirty()], T0 + 2 * H).events, ["updated:open:3"]);
  assert.deepEqual(rec(s, [], T0 + H).events, ["closed:closed:3"]);
  assert.deepEqual(
    endSnoozes(s, T0 + 2 * H, opts).changes.map((c) => c.loop.status),
    ["open"],
    "ends even when the input cannot say",
  );
});

test("closed by hand stays closed until the condition clears and comes back", () => {
  const closed = cmd(opened(), { type: "close" }, T0 + 1);
  assert.deepEqual(closed.events, ["closed:closed:2"]);
  assert.deepEqual(rec(closed.state, [dirty()], T0 + 2).events, [], "still true: stays closed");
  const clear = rec(closed.state, [], T0 + 3);
  assert.deepEqual(clear.events, [], "already closed: nothing more to publish");
  const back = rec(clear.state, [dirty({ since: T0 + 4 })], T0 + 4);
  assert.deepEqual(back.events, ["opened:open:3"], "the same id goes on with the next rev");
  assert.equal(back.state.loops["repo.dirty"]?.loop.id, ID);
});

test("reopen and unack", () => {
  const ack = cmd(opened(), { type: "ack" }, T0 + 1).state;
  assert.deepEqual(cmd(ack, { type: "unack" }, T0 + 2).events, ["updated:open:3"]);
  assert.deepEqual(cmd(ack, { type: "reopen" }, T0 + 2).events, ["updated:open:3"]);
  const closedByHand = cmd(opened(), { type: "close" }, T0 + 1).state;
  assert.deepEqual(cmd(closedByHand, { type: "reopen" }, T0 + 2).events, ["opened:open:3"]);
  const resolved = rec(opened(), [], T0 + 1).state;
  assert.throws(
    () => cmd(resolved, { type: "reopen" }, T0 + 2),
    (e: LoopCommandError) => e.status === 409 && /cleared/.test(e.message),
  );
  assert.throws(
    () => cmd(resolved, { type: "ack" }, T0 + 2),
    (e: LoopCommandError) => e.status === 409,
  );
  assert.deepEqual(cmd(opened(), { type: "unack" }, T0 + 2).events, [], "already open: a no-op");
  const snoozed = cmd(opened(), { type: "snooze", until: T0 + H }, T0 + 1).state;
  assert.throws(
    () => cmd(snoozed, { type: "unack" }, T0 + 2),
    (e: LoopCommandError) => e.status === 409 && /not acknowledged/.test(e.message),
  );
});

test("an unknown loop id is a 404 naming it", () => {
  assert.throws(
    () => applyCommand(opened(), { loopId: "nope", command: { type: "ack" }, by: "x", now: T0, historyLimit: 50 }),
    (e: LoopCommandError) => e.status === 404 && e.message.includes('"nope"'),
  );
});

test("snooze: a duration or a time in the future; the past and bad durations are 400", () => {
  assert.equal(snoozeEnd({ for: "2h" }, T0), T0 + 2 * H);
  assert.equal(snoozeEnd({ until: new Date(T0 + H).toISOString() }, T0), T0 + H);
  for (const bad of [
    { for: "soon" },
    { until: new Date(T0 - 1).toISOString() },
    { for: "0s" },
    {},
    { for: "1h", until: "x" },
    { until: "tomorrow" },
  ]) {
    assert.throws(
      () => snoozeEnd(bad, T0),
      (e: LoopCommandError) => e.status === 400,
      JSON.stringify(bad),
    );
  }
});

test("dependencies: opened suppressed while a parent is down, un-suppressed when it recovers first", () => {
  const svc = emptyState({ type: "service", service: "web" });
  const down: Condition = {
    kind: "service.down",
    severity: "high",
    summary: "web is down",
    evidence: {},
    since: T0,
    after: 0,
  };
  const s1 = rec(svc, [down], T0, ["nas"]);
  assert.deepEqual(s1.events, ["opened:suppressed:1"]);
  assert.deepEqual(s1.state.loops["service.down"]?.loop.suppressedBy, ["nas"]);
  const s2 = rec(s1.state, [down], T0 + 1, []);
  assert.deepEqual(s2.events, ["updated:open:2"]);
  assert.deepEqual(
    rec(s1.state, [], T0 + 1, ["nas"]).events,
    ["closed:closed:2"],
    "a suppressed loop that clears is closed (published)",
  );
});

test("history keeps who did what, bounded by historyLimit", () => {
  let s = opened();
  for (let i = 0; i < 60; i++) s = cmd(s, { type: i % 2 ? "unack" : "ack" }, T0 + i + 1).state;
  const h = s.loops["repo.dirty"]?.loop.history ?? [];
  assert.equal(h.length, 50);
  assert.ok(h.every((e) => e.by === "user:alice"));
  assert.equal(s.loops["repo.dirty"]?.loop.rev, 61);
});

test("a severity change is published as updated", () => {
  assert.deepEqual(rec(opened(), [dirty({ severity: "high" })], T0 + 1).events, ["updated:open:2"]);
});
