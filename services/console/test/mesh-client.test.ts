// The console's reads through a real nats-server: when the owner stops answering, the last answer
// is kept with its age and the page says which part is unreachable; the owner's 404 stays a 404.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus, endpoint } from "@mirror/bus";
import { Loop, loopsGet, loopsList } from "@mirror/contracts";
import { createLogger, ManualClock } from "@mirror/kit";
import { type ServerHandle, startNats } from "@mirror/testkit";
import { Registry } from "prom-client";
import { ConsoleError } from "../src/errors.js";
import { MeshClient } from "../src/mesh.js";
import { loopFilter, loopsPage } from "../src/pages/loops.js";

const silent = createLogger("t", { write: () => true } as never, "silent");
let nats: ServerHandle;
let owner: Bus;
let caller: Bus;

before(async () => {
  nats = await startNats();
  owner = await Bus.connect({ name: "loop-detector", url: nats.url, log: silent, registry: new Registry() });
  caller = await Bus.connect({ name: "console", url: nats.url, log: silent, registry: new Registry() });
});
after(async () => {
  await Promise.all([owner?.close(500), caller?.close(500)]);
  await nats?.dispose();
});

const loop = Loop.parse({
  id: "l1",
  kind: "repo.dirty",
  entity: { type: "repo", repo: "/code/<b>x</b>" },
  severity: "medium",
  status: "open",
  summary: "uncommitted changes",
  openedAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  rev: 1,
});

test("a stopped owner: the last answer with its age and the unreachable part named; a 404 stays a 404", async () => {
  const clock = new ManualClock(Date.parse("2026-01-01T00:10:00.000Z"));
  const served = await owner.service({
    name: "loop-detector",
    version: "0.1.0",
    endpoints: [
      endpoint(loopsList, async () => ({ loops: [loop] })),
      endpoint(loopsGet, async (req) => {
        throw Object.assign(new Error(`no loop ${req.loopId}`), { status: 404 });
      }),
    ],
  });
  const mesh = new MeshClient(caller, () => clock.now());
  const fresh = await mesh.loops({});
  assert.deepEqual(
    fresh.data?.map((l) => l.id),
    ["l1"],
  );
  assert.equal(fresh.error, undefined);
  await assert.rejects(
    mesh.loop("nope"),
    (err: unknown) => err instanceof ConsoleError && err.status === 404 && /no loop nope/.test(err.message),
  );

  await served.stop();
  clock.advance(42_000);
  const stale = await mesh.loops({});
  assert.deepEqual(
    stale.data?.map((l) => l.id),
    ["l1"],
    "the last answer is kept",
  );
  assert.equal(stale.at, fresh.at);
  assert.match(stale.error ?? "", /^loop-detector unreachable/);
  const page = loopsPage(stale, loopFilter({}), clock.now()).text;
  assert.match(page, /loop-detector unreachable/);
  assert.match(page, /Showing data from 42 s ago/);
  assert.match(page, /&lt;b&gt;x&lt;\/b&gt;/, "and the data is escaped");

  const never = await new MeshClient(caller, () => clock.now()).checks();
  assert.equal(never.data, undefined);
  assert.match(never.error ?? "", /^service-tracker unreachable/);
});
