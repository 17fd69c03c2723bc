import assert from "node:assert/strict";
import { test } from "node:test";
import type { Loop } from "@mirror/contracts";
import { toAlert } from "../src/alert.js";
import {
  type Draft,
  type FlushEnv,
  flushGroup,
  type GroupPolicy,
  type GroupState,
  newGroup,
  upsertAlert,
} from "../src/group.js";
import { makeLoop } from "./harness.js";

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const policy: GroupPolicy = {
  groupWait: 30 * S,
  groupInterval: 5 * M,
  repeatInterval: 4 * H,
  stormThreshold: 20,
  sendResolved: true,
};
const open: FlushEnv = { silenced: () => false, inhibited: () => false, quiet: null };
const T0 = Date.parse("2026-01-01T00:00:00Z");

/** A group and a clock driven by hand: add loops, flush when due, collect what would be sent. */
class Sim {
  now = T0;
  group: GroupState | null = null;
  sent: Draft[] = [];
  constructor(
    readonly p: GroupPolicy = policy,
    public env: FlushEnv = open,
  ) {}
  add(loop: Loop, activeFrom = 0) {
    const g =
      this.group ??
      newGroup(
        {
          id: "g",
          key: "{}/default:{}",
          channel: "hook",
          route: "default",
          escalation: false,
          labels: {},
          epoch: `e${this.now}`,
        },
        this.now,
        this.p,
      );
    this.group = upsertAlert(g, toAlert(loop, g.alerts[loop.id], activeFrom), this.now, this.p) ?? g;
  }
  /** Advances time, flushing at every due moment on the way. */
  advance(ms: number) {
    const end = this.now + ms;
    while (this.group && this.group.nextFlushAt <= end) {
      this.now = Math.max(this.now, this.group.nextFlushAt);
      const r = flushGroup(this.group, this.now, this.p, this.env);
      this.group = r.group;
      if (r.draft) this.sent.push(r.draft);
    }
    this.now = end;
  }
}

const ids = (d: Draft | undefined) => ({
  firing: d?.firing.map((a) => a.labels.repo).sort(),
  resolved: d?.resolved.map((a) => a.labels.repo).sort(),
});

test("groupWait collects loops into one message; later news waits for groupInterval", () => {
  const sim = new Sim();
  sim.add(makeLoop({ repo: "/a" }));
  sim.advance(10 * S);
  sim.add(makeLoop({ repo: "/b" }));
  sim.advance(19 * S);
  assert.equal(sim.sent.length, 0);
  sim.advance(1 * S);
  assert.equal(sim.sent.length, 1);
  assert.deepEqual(ids(sim.sent[0]), { firing: ["/a", "/b"], resolved: [] });
  sim.add(makeLoop({ repo: "/c" }));
  sim.advance(4 * M);
  assert.equal(sim.sent.length, 1, "a new loop in a group that already spoke waits for groupInterval");
  sim.advance(1 * M);
  assert.equal(sim.sent.length, 2);
  assert.deepEqual(ids(sim.sent[1]), { firing: ["/a", "/b", "/c"], resolved: [] });
});

test("repeatInterval resends the firing set; repeatLimit caps reminders per loop", () => {
  const sim = new Sim({ ...policy, repeatLimit: 2 });
  sim.add(makeLoop({ repo: "/a" }));
  sim.advance(30 * S);
  assert.equal(sim.sent.length, 1);
  sim.advance(3 * H);
  assert.equal(sim.sent.length, 1, "no change, no reminder before repeatInterval");
  sim.advance(24 * H);
  assert.equal(sim.sent.length, 3, "two reminders, then the cap");
  assert.ok(sim.sent[1]?.repeat && sim.sent[2]?.repeat);
});

test("the resolution that empties a group goes out after groupWait, not groupInterval", () => {
  const sim = new Sim({ ...policy, groupWait: 0 });
  const loop = makeLoop({ repo: "/a" });
  sim.add(loop);
  sim.advance(0);
  sim.advance(10 * S);
  sim.add({ ...loop, status: "closed", rev: 2, closedAt: "2026-01-01T00:00:10.000Z" });
  sim.advance(0);
  assert.equal(sim.sent.length, 2);
  assert.equal(sim.sent[1]?.status, "resolved");
  assert.equal(sim.group, null, "a group with nothing left is gone");
});

test("a loop that opens and closes before anything was sent sends nothing", () => {
  const sim = new Sim();
  const loop = makeLoop({ repo: "/a" });
  sim.add(loop);
  sim.add({ ...loop, status: "closed", rev: 2 });
  sim.advance(1 * H);
  assert.equal(sim.sent.length, 0);
  assert.equal(sim.group, null);
});

test("an acknowledged or silenced loop still sends its resolved message", () => {
  let silenced = false;
  const sim = new Sim({ ...policy, groupWait: 0 }, { ...open, silenced: () => silenced });
  const loop = makeLoop({ repo: "/a" });
  sim.add(loop);
  sim.advance(0);
  assert.equal(sim.sent.length, 1);
  silenced = true;
  sim.add({ ...loop, status: "acknowledged", rev: 2 });
  sim.advance(10 * H);
  assert.equal(sim.sent.length, 1, "no reminders while acknowledged and silenced");
  sim.add({ ...loop, status: "closed", rev: 3 });
  sim.advance(0);
  assert.equal(sim.sent.length, 2);
  assert.deepEqual(ids(sim.sent[1]), { firing: [], resolved: ["/a"] });
});

test("quiet hours hold news back and deliver one catch-up, with loops that closed meanwhile as resolved", () => {
  let quiet: FlushEnv["quiet"] = { endsAt: T0 + 8 * H, except: ["critical"] };
  const sim = new Sim(
    { ...policy, groupWait: 0, repeatInterval: 24 * H },
    {
      ...open,
      get quiet() {
        return quiet;
      },
    },
  );
  const a = makeLoop({ repo: "/a" });
  sim.add(a);
  sim.add(makeLoop({ repo: "/b" }));
  sim.add(makeLoop({ repo: "/crit", severity: "critical" }));
  sim.advance(0);
  assert.equal(sim.sent.length, 1, "critical goes through quiet hours");
  assert.deepEqual(ids(sim.sent[0]), { firing: ["/crit"], resolved: [] });
  sim.advance(2 * H);
  sim.add({ ...a, status: "closed", rev: 2 });
  sim.advance(5 * H);
  assert.equal(sim.sent.length, 1, "nothing else during quiet hours");
  quiet = null;
  sim.advance(1 * H);
  assert.equal(sim.sent.length, 2);
  const catchUp = sim.sent[1];
  assert.equal(catchUp?.catchUp, true);
  assert.deepEqual(ids(catchUp), { firing: ["/b", "/crit"], resolved: ["/a"] });
});

test("a storm is one message flagged as a summary", () => {
  const sim = new Sim({ ...policy, stormThreshold: 5 });
  for (let i = 0; i < 50; i++) sim.add(makeLoop({ repo: `/r${i}` }));
  sim.advance(30 * S);
  assert.equal(sim.sent.length, 1);
  assert.equal(sim.sent[0]?.storm, true);
  assert.equal(sim.sent[0]?.firing.length, 50);
});

test("an escalation copy speaks only once escalateAfter has passed, and not for an acknowledged loop", () => {
  const sim = new Sim({ ...policy, groupWait: 0 });
  const loop = makeLoop({ repo: "/a" });
  sim.add(loop, T0 + 24 * H);
  sim.advance(23 * H);
  assert.equal(sim.sent.length, 0);
  sim.advance(1 * H);
  assert.equal(sim.sent.length, 1);
  const acked = new Sim({ ...policy, groupWait: 0 });
  acked.add({ ...loop, status: "acknowledged" }, T0 + 24 * H);
  acked.advance(48 * H);
  assert.equal(acked.sent.length, 0);
});

test("stale and duplicate revisions change nothing", () => {
  const sim = new Sim();
  const loop = makeLoop({ repo: "/a", rev: 5 });
  sim.add(loop);
  const before = sim.group;
  sim.add({ ...loop, rev: 4, status: "closed" });
  assert.equal(sim.group, before);
});
