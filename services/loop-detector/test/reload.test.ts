import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { entityKey, loopId } from "@mirror/contracts";
import { tempDir, waitFor } from "@mirror/testkit";
import { Harness } from "./harness.js";

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.stop();
});

const M = 60_000;

test("a maintenance window added to mirror.yaml while the detector runs suppresses the check's loop, and the loop opens again when the window ends", async () => {
  const file = join(tempDir("mirror-ld-reload-"), "mirror.yaml");
  const base = "loops:\n  rules: { service.down: { after: 0s } }\n";
  writeFileSync(file, base);
  const d = await h.detector(base, file);
  const metric = async (result: string) => {
    const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
    return Number(new RegExp(`mirror_config_reload_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const id = loopId("service.down", entityKey({ type: "service", service: "redis" }));
  const statusOf = () => h.eventsFor(id).at(-1)?.data.loop.status;

  await h.publishStatus({ name: "redis", state: "down", reason: "connection refused" });
  await waitFor("loop open", () => statusOf() === "open");

  // A half-written save is rejected and counted; the detector keeps going.
  writeFileSync(file, `${base}  maintenance: [ { name: backup, match: { check: [redis`);
  await waitFor("reload rejected", async () => (await metric("error")) >= 1);

  const now = h.clock.now();
  const end = new Date(now + 20 * M).toISOString();
  writeFileSync(
    file,
    `${base}  maintenance: [ { name: backup, match: { check: [redis] }, start: "${new Date(now - M).toISOString()}", end: "${end}" } ]\n`,
  );
  await waitFor("reloaded", async () => (await metric("ok")) >= 1);

  // No new status needed: a reload has every entity looked at again.
  await waitFor("loop in maintenance by the window", () => statusOf() === "maintenance");
  assert.deepEqual(h.eventsFor(id).at(-1)?.data.loop.suppressedBy, ["maintenance:backup"]);

  // The window ends with redis still down: the tick opens the loop again (the notifier sends it then).
  h.clock.advance(20 * M);
  await waitFor("loop open after the window", () => statusOf() === "open", { timeout: 10_000 });
  assert.equal(h.eventsFor(id).at(-1)?.data.loop.history.at(-1)?.note, "maintenance ended");
});
