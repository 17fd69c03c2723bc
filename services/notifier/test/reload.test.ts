import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { tempDir, waitFor } from "@mirror/testkit";
import { Harness, makeLoop } from "./harness.js";

let h: Harness;
before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h.stop();
});

test("channels and routes change with mirror.yaml while the notifier runs; a broken save keeps the old ones", async () => {
  const file = join(tempDir("mirror-notifier-reload-"), "mirror.yaml");
  const svc = await h.startNotifier(
    `{ groupWait: 0s, groupBy: [alertname, service], channels: [ { name: first, type: webhook, url: "RECEIVERfirst" } ] }`,
    { configFile: file },
  );
  const metric = async (result: string) =>
    Number(
      new RegExp(`mirror_config_reload_total\\{result="${result}"\\} (\\d+)`).exec(
        await (await fetch(`http://127.0.0.1:${svc.port}/metrics`)).text(),
      )?.[1] ?? 0,
    );
  await h.publish(makeLoop({ service: "web", kind: "service.down" }));
  await h.receiver.waitFor("/first", (r) => r.url === "/first");

  writeFileSync(
    file,
    `notifier: { groupWait: 0s, groupBy: [alertname, service], channels: [ { name: second, type: webhook, url: "${h.receiver.url}second" } ] }\n`,
  );
  await waitFor("reloaded", async () => (await metric("ok")) >= 1);
  await h.publish(makeLoop({ service: "db", kind: "service.down" }));
  await h.receiver.waitFor("/second", (r) => r.url === "/second");

  writeFileSync(
    file,
    `notifier: { groupWait: 0s, groupBy: [alertname, service], channels: [ { name: third, type: webhook, url: "${h.receiver.url}third`,
  );
  await waitFor("rejected", async () => (await metric("error")) >= 1);
  await h.publish(makeLoop({ service: "cache", kind: "service.down" }));
  const got = await h.receiver.waitFor(
    "cache on /second",
    (r) => r.url === "/second" && JSON.stringify(r.json).includes("cache"),
  );
  assert.ok(got);
  assert.ok(!h.receiver.requests.some((r) => r.url === "/third"));
});
