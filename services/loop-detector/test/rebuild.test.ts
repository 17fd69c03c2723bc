import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { DeadLetter, entityKey, loopId } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { Redis } from "ioredis";
import { Harness } from "./harness.js";
import { raw } from "@mirror/bus/testing";

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.stop();
});

const CFG = "loops: { tick: 50ms, triage: false, rules: { repo.dirty: { after: 0s } } }";
const dirtyId = (repo: string) => loopId("repo.dirty", entityKey({ type: "repo", repo }));

test("with an empty Redis the detector rebuilds from JetStream without re-announcing loops", async () => {
  const first = await h.detector(CFG);
  const [a, b] = [dirtyId("/r/a"), dirtyId("/r/b")];
  await h.publish(h.snapshot("/r/a", { staged: 1 }));
  await h.publish(h.snapshot("/r/b", { staged: 1 }));
  await waitFor("both opened", () => h.events.length === 2);
  assert.equal((await h.http(first, "POST", `/loops/${a}/ack`, { by: "alice" })).json.loop?.status, "acknowledged");
  assert.equal((await h.http(first, "POST", `/loops/${b}/close`, { by: "alice" })).json.loop?.status, "closed");
  await h.settled();
  await first.stop();
  const raw = new Redis(h.redis.url);
  await raw.flushall();
  await raw.quit();
  const seen = h.events.length;

  const second = await h.detector(CFG);
  assert.equal((await h.http(second, "GET", `/loops/${a}`)).json.loop?.status, "acknowledged");
  assert.equal((await h.http(second, "GET", `/loops/${b}`)).json.loop?.status, "closed");
  await h.settled();
  assert.equal(h.events.length, seen, "nothing announced again");

  h.clock.advance(1_000);
  await h.publish(h.snapshot("/r/b", { staged: 2 }));
  await h.publish(h.snapshot("/r/a"));
  const closed = await waitFor("the acknowledged loop closes on recovery", () =>
    h.eventsFor(a).find((e) => e.data.reason === "resolved"),
  );
  assert.equal(closed.msgId, `${a}:3`, "revisions go on from the rebuilt loop");
  await h.settled();
  assert.equal(h.eventsFor(b).length, 2, "closed by hand stays closed while still dirty");
});

test("a snapshot outside scanner.roots or with a forged key is dead-lettered, and the rest goes on", async () => {
  await h.detector(`scanner: { roots: [/srv/repos] }\n${CFG}`);
  await h.publish(h.snapshot("/etc/secret", { staged: 1 }));
  await h.publish({ ...h.snapshot("/srv/repos/x", { staged: 1 }), repoKey: "0000" });
  await raw(h.scanner).js.publish("mirror.repo.snapshot.garbage", "{not json");
  await h.publish(h.snapshot("/srv/repos/ok", { staged: 1 }));
  await waitFor("the good repo's loop", () => h.eventsFor(dirtyId("/srv/repos/ok"))[0]);
  const jsm = await raw(h.scanner).manager();
  const letters = await waitFor("three dead letters", async () => {
    const info = await jsm.streams.info("MIRROR_DLQ");
    if (info.state.messages < 3) return false;
    const out: DeadLetter[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage("MIRROR_DLQ", { seq });
      if (m) out.push(DeadLetter.parse(m.json()));
    }
    return out;
  });
  assert.ok(letters.every((l) => l.service === "loop-detector"));
  assert.ok(letters.some((l) => l.reason === "poison" && /outside the configured scanner.roots/.test(l.error)));
  assert.ok(letters.some((l) => l.reason === "poison" && /does not match/.test(l.error)));
  assert.ok(letters.some((l) => l.reason === "invalid_json"));
  assert.equal(h.events.length, 1);
});
