import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { endpoint, type RequestError } from "@mirror/bus";
import { entityKey, loopId, loopsAck, loopsList, loopsSnooze, modelTriage } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { Harness } from "./harness.js";

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

const id = (kind: string, e: { type: "repo" | "service"; repo?: string; service?: string }) =>
  loopId(kind, entityKey(e));
const dirtyId = (repo: string) => id("repo.dirty", { type: "repo", repo });
const AFTER0 = "loops: { tick: 50ms, triage: false, rules: { repo.dirty: { after: 0s } } }";

test("GET /loops lists loops by status; ack over HTTP is published and auto-closes on recovery", async () => {
  const d = await h.detector(AFTER0);
  await h.publish(h.snapshot("/r/a", { staged: 1 }));
  await h.publish(h.snapshot("/r/b", { untracked: 2 }));
  await waitFor("two loops", () => h.events.length === 2);
  const open = await h.http(d, "GET", "/loops?status=open");
  assert.equal(open.status, 200);
  assert.deepEqual(open.json.loops?.map((l) => l.entity.repo).sort(), ["/r/a", "/r/b"]);

  const a = dirtyId("/r/a");
  // No credential, no state change (there is always a token: http.token or the data folder's).
  for (const [cmd, body] of [
    ["close", {}],
    ["snooze", { for: "3650d" }],
    ["ack", {}],
  ] as const)
    assert.equal((await h.http(d, "POST", `/loops/${a}/${cmd}`, body, false)).status, 401, cmd);
  assert.equal(
    (await h.http(d, "GET", `/loops/${a}`, undefined, false)).json.loop?.status,
    "open",
    "reads stay open; nothing changed",
  );
  const acked = await h.http(d, "POST", `/loops/${a}/ack`, { by: "alice", note: "on it" });
  assert.equal(acked.status, 200);
  assert.equal(acked.json.loop?.status, "acknowledged");
  assert.deepEqual(acked.json.loop?.history.at(-1), {
    at: acked.json.loop?.updatedAt,
    from: "open",
    to: "acknowledged",
    by: "user:alice",
    note: "on it",
  });
  const ev = await waitFor("updated event", () =>
    h.eventsFor(a).find((e) => e.subject.startsWith("mirror.loop.updated.")),
  );
  assert.equal(ev.msgId, `${a}:2`);
  assert.equal((await h.http(d, "GET", "/loops?status=open")).json.loops?.length, 1);
  assert.equal(
    (await h.http(d, "GET", "/loops?status=acknowledged,open&kind=repo.dirty&severity=low")).json.loops?.length,
    2,
  );
  assert.equal((await h.http(d, "GET", `/loops/${a}`)).json.loop?.status, "acknowledged");

  h.clock.advance(1_000);
  await h.publish(h.snapshot("/r/a"));
  const closed = await waitFor("acknowledged loop auto-closed", () =>
    h.eventsFor(a).find((e) => e.subject.startsWith("mirror.loop.closed.")),
  );
  assert.equal(closed.data.loop.status, "closed");
  assert.equal(closed.data.loop.history.at(-2)?.to, "acknowledged");
});

test("bad input over HTTP: unknown id 404, snooze into the past or with a bad duration 400, bad filter 400", async () => {
  const d = await h.detector(AFTER0);
  await h.publish(h.snapshot("/r/a", { staged: 1 }));
  await waitFor("opened", () => h.events.length === 1);
  const a = dirtyId("/r/a");
  const missing = await h.http(d, "POST", "/loops/deadbeef/ack", {});
  assert.equal(missing.status, 404);
  assert.match(missing.json.error?.message ?? "", /deadbeef/);
  assert.equal((await h.http(d, "GET", "/loops/deadbeef")).status, 404);
  const past = await h.http(d, "POST", `/loops/${a}/snooze`, { until: new Date(h.clock.now() - 1_000).toISOString() });
  assert.equal(past.status, 400);
  assert.match(past.json.error?.message ?? "", /past/);
  const badFor = await h.http(d, "POST", `/loops/${a}/snooze`, { for: "a while" });
  assert.equal(badFor.status, 400);
  assert.match(badFor.json.error?.message ?? "", /invalid duration/);
  assert.equal((await h.http(d, "GET", "/loops?status=bogus")).status, 400);
  const snoozed = await h.http(d, "POST", `/loops/${a}/snooze`, { for: "2h" });
  assert.equal(snoozed.json.loop?.snoozedUntil, new Date(h.clock.now() + 7_200_000).toISOString());
  const closedByHand = await h.http(d, "POST", `/loops/${a}/close`, {});
  assert.equal(closedByHand.json.loop?.status, "closed");
  assert.equal((await h.http(d, "POST", `/loops/${a}/ack`, {})).status, 409);
  assert.equal((await h.http(d, "POST", `/loops/${a}/reopen`, {})).json.loop?.status, "open");
});

test("the same commands over the bus (Services API), with errors naming the loop", async () => {
  await h.detector(AFTER0);
  await h.publish(h.snapshot("/r/a", { staged: 1 }));
  await waitFor("opened", () => h.events.length === 1);
  const a = dirtyId("/r/a");
  const list = await h.scanner.request(loopsList, { status: "open" });
  assert.deepEqual(
    list.loops.map((l) => l.id),
    [a],
  );
  const acked = await h.scanner.request(loopsAck, { loopId: a, by: "bob" });
  assert.equal(acked.loop.status, "acknowledged");
  assert.equal(acked.loop.history.at(-1)?.by, "user:bob");
  await assert.rejects(
    h.scanner.request(loopsAck, { loopId: "nope" }),
    (e: RequestError) => e.code === "MIRROR_ERR_REMOTE_404" && /nope/.test(e.message),
  );
  await assert.rejects(
    h.scanner.request(loopsSnooze, { loopId: a, for: "-1h" }),
    (e: RequestError) => e.code === "MIRROR_ERR_REMOTE_400",
  );
});

test("triage: pending while no adapter answers, retried later, stored and published as updated", async () => {
  await h.detector(
    "loops: { tick: 50ms, triageTimeout: 500ms, triageRetry: 1m, rules: { repo.dirty: { after: 0s } } }",
  );
  await h.publish(h.snapshot("/r/t", { staged: 1 }));
  const a = dirtyId("/r/t");
  const opened = await waitFor("opened", () => h.eventsFor(a)[0]);
  assert.equal(opened.data.loop.triage, null);
  const d = h.detectors[0]!;
  await waitFor(
    "first ask failed: no adapter answered",
    async () => (await d.ctx.store.hget("triage:attempts", a)) === "1",
  );
  const asked: string[] = [];
  const adapter = await h.scanner.service({
    name: "mirror-model",
    version: "0.0.1",
    queue: "mirror-model",
    endpoints: [
      endpoint(modelTriage, async (req) => {
        asked.push(req.loop.id);
        return {
          adapter: "test",
          model: "fixed",
          severity: "medium" as const,
          summary: "commit it",
          nextAction: "git commit",
        };
      }),
    ],
  });
  try {
    h.clock.advance(60_000);
    const updated = await waitFor("triage published", () => h.eventsFor(a).find((e) => e.data.reason === "triaged"));
    assert.deepEqual(asked, [a]);
    assert.equal(updated.data.loop.triage?.summary, "commit it");
    assert.equal(updated.data.loop.triage?.adapter, "test");
    assert.equal(updated.data.loop.rev, 2);
    assert.equal(updated.msgId, `${a}:2`);
  } finally {
    await adapter.stop();
  }
});

test("metrics: mirror_loops_open by kind and severity", async () => {
  const d = await h.detector(AFTER0);
  await h.publish(h.snapshot("/r/a", { staged: 1 }));
  await h.publish(h.snapshot("/r/b", { staged: 1, behind: 2 }));
  await waitFor("opened", () => h.events.length === 2);
  const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
  assert.match(text, /mirror_loops_open\{kind="repo.dirty",severity="low"\} 2/);
  assert.doesNotMatch(text, /mirror_loops_open\{kind="repo.behind"/, "repo.behind is not due yet (24h)");
});

test("dependencies: a child's loop opens suppressed while its parent is down, and un-suppresses when the parent recovers", async () => {
  await h.detector(
    "loops: { tick: 50ms, triage: false, dependsOn: { web: [nas] }, rules: { service.down: { after: 0s } } }",
  );
  const nas = id("service.down", { type: "service", service: "nas" });
  const web = id("service.down", { type: "service", service: "web" });
  await h.publishStatus({ name: "nas", state: "down", reason: "timeout" });
  await waitFor("nas down", () => h.eventsFor(nas)[0]);
  await h.publishStatus({ name: "web", state: "down", reason: "502" });
  const child = await waitFor("web opened", () => h.eventsFor(web)[0]);
  assert.equal(child.data.loop.status, "suppressed");
  assert.deepEqual(child.data.loop.suppressedBy, ["nas"]);
  h.clock.advance(1_000);
  await h.publishStatus({ name: "nas", state: "up" });
  const un = await waitFor("web un-suppressed", () => h.eventsFor(web)[1]);
  assert.equal(un.data.loop.status, "open");
  assert.equal(un.data.reason, "unsuppressed");
});

test("a status for a name no check configures opens its loop, marked as discovered on the mesh", async () => {
  const d = await h.detector(
    "tracker: { checks: [ { name: web, http: { url: 'http://127.0.0.1:1/' } } ] }\nloops: { tick: 50ms, triage: false, rules: { service.down: { after: 0s } } }",
  );
  await h.publishStatus({ name: "ghost", kind: "mesh", state: "down", reason: "no answer to $SRV.PING" });
  await h.publishStatus({ name: "web", state: "down", reason: "refused" });
  await waitFor("both opened", () => h.events.length === 2);
  const loops = (await h.http(d, "GET", "/loops?kind=service.down")).json.loops ?? [];
  const ev = (name: string) => loops.find((l) => l.entity.service === name)?.evidence;
  assert.equal(ev("ghost")?.discovered, true);
  assert.equal(ev("ghost")?.kind, "mesh");
  assert.equal(ev("web")?.discovered, undefined);
});
