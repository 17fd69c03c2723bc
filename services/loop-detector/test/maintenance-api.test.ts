import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RequestError } from "@mirror/bus";
import { entityKey, loopId, maintenanceAdd, maintenanceEnd, maintenanceList } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { Harness } from "./harness.js";

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.stop();
});

test("maintenance.add|list|end over the bus: an open loop turns to maintenance at once, opens again when the window is ended; bad input, duplicates and unknown names are refused", async () => {
  await h.detector(`loops:
  rules: { service.down: { after: 0s } }
  maintenance: [ { name: nightly, match: { kind: [repo.dirty] }, cron: "0 3 * * *", duration: 1h } ]
`);
  const id = loopId("service.down", entityKey({ type: "service", service: "nas" }));
  const last = () => h.eventsFor(id).at(-1)?.data.loop;
  await h.publishStatus({ name: "nas", state: "down", reason: "timeout" });
  await waitFor("loop open", () => last()?.status === "open");

  const added = await h.scanner.request(maintenanceAdd, {
    name: "disk-swap",
    match: { check: ["nas"] },
    for: "2h",
    by: "alice",
  });
  assert.equal(added.window.active, true);
  assert.equal(added.window.createdBy, "alice");
  // Woken by the add: no new status needed.
  await waitFor("loop in maintenance", () => last()?.status === "maintenance");
  assert.deepEqual(last()?.suppressedBy, ["maintenance:disk-swap"]);

  const { windows } = await h.scanner.request(maintenanceList, {});
  assert.deepEqual(
    windows.map((w) => [w.name, w.source, w.active]),
    [
      ["nightly", "config", false],
      ["disk-swap", "runtime", true],
    ],
  );

  await assert.rejects(
    h.scanner.request(maintenanceAdd, { name: "disk-swap", match: { check: ["nas"] }, for: "1h" }),
    (e: RequestError) => e.code === "MIRROR_ERR_REMOTE_409",
  );
  await assert.rejects(
    h.scanner.request(maintenanceAdd, { name: "nightly", match: { check: ["nas"] }, for: "1h" }),
    (e: RequestError) => e.code === "MIRROR_ERR_REMOTE_409" && /mirror\.yaml/.test(e.message),
  );
  await assert.rejects(
    h.scanner.request(maintenanceAdd, {
      name: "both",
      match: { check: ["nas"] },
      for: "1h",
      until: "2030-01-01T00:00:00Z",
    }),
    (e: RequestError) => e.code === "MIRROR_ERR_REMOTE_400",
  );
  await assert.rejects(
    h.scanner.request(maintenanceAdd, {
      name: "badcron",
      match: { check: ["nas"] },
      cron: "99 * * * *",
      duration: "1h",
    }),
    (e: RequestError) => e.code === "MIRROR_ERR_REMOTE_400" && /cron/.test(e.message),
  );
  await assert.rejects(
    h.scanner.request(maintenanceEnd, { name: "ghost" }),
    (e: RequestError) => e.code === "MIRROR_ERR_REMOTE_404",
  );
  await assert.rejects(
    h.scanner.request(maintenanceEnd, { name: "nightly" }),
    (e: RequestError) => e.code === "MIRROR_ERR_REMOTE_404" && /mirror\.yaml/.test(e.message),
  );

  // Ended while nas is still down: the loop opens (and would be notified) now.
  await h.scanner.request(maintenanceEnd, { name: "disk-swap" });
  await waitFor("loop open again", () => last()?.status === "open");
  assert.equal(last()?.history.at(-1)?.note, "maintenance ended");
});
