// The Notifications page's reads through a real nats-server: the notifier's delivery log per
// channel, the loop-detector's maintenance windows; when the notifier stops answering, the page
// names it and keeps the last log with its age. And how a form becomes a maintenance request.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Bus, endpoint } from "@mirror/bus";
import {
  type DeliveriesReply,
  type MaintenanceInfo,
  maintenanceList,
  notifyDeliveries,
  silenceList,
} from "@mirror/contracts";
import { createLogger, ManualClock } from "@mirror/kit";
import { type ServerHandle, startNats } from "@mirror/testkit";
import { Registry } from "prom-client";
import type { Principal } from "../src/auth.js";
import { ConsoleError } from "../src/errors.js";
import { MeshClient } from "../src/mesh.js";
import { loadNotifications, notificationsPage } from "../src/pages/notifications.js";
import { maintenanceRequest } from "../src/routes-notifications.js";

const silent = createLogger("t", { write: () => true } as never, "silent");
let nats: ServerHandle;
let notifier: Bus;
let detector: Bus;
let caller: Bus;

before(async () => {
  nats = await startNats();
  const connect = (name: string) => Bus.connect({ name, url: nats.url, log: silent, registry: new Registry() });
  [notifier, detector, caller] = await Promise.all([connect("notifier"), connect("loop-detector"), connect("console")]);
});
after(async () => {
  await Promise.all([notifier?.close(500), detector?.close(500), caller?.close(500)]);
  await nats?.dispose();
});

const log: DeliveriesReply = {
  kept: 200,
  channels: [
    {
      channel: "hook",
      type: "webhook",
      configured: true,
      counts: { sent: 1, failed: 0, retried: 0 },
      deliveries: [
        {
          deliveryId: "d1",
          channel: "hook",
          kind: "firing",
          outcome: "sent",
          attempts: 1,
          at: "2026-01-01T00:09:00.000Z",
          groupKey: "{}:{}",
          alerts: [{ loopId: "l1", alertname: "repo.dirty", entity: "/code/<b>x</b>", status: "firing" }],
          alertCount: 1,
          error: null,
          nextAttemptAt: null,
        },
      ],
    },
    {
      channel: "down",
      type: "webhook",
      configured: true,
      counts: { sent: 0, failed: 1, retried: 1 },
      deliveries: [
        {
          deliveryId: "d2",
          channel: "down",
          kind: "firing",
          outcome: "failed",
          attempts: 2,
          at: "2026-01-01T00:09:30.000Z",
          groupKey: "{}:{}",
          alerts: [{ loopId: "l1", alertname: "repo.dirty", entity: null, status: "resolved" }],
          alertCount: 3,
          error: "HTTP 400: <script>alert(1)</script>",
          nextAttemptAt: null,
        },
        {
          deliveryId: "d2",
          channel: "down",
          kind: "firing",
          outcome: "retried",
          attempts: 1,
          at: "2026-01-01T00:09:10.000Z",
          groupKey: "{}:{}",
          alerts: [{ loopId: "l1", alertname: "repo.dirty", entity: null, status: "firing" }],
          alertCount: 3,
          error: "request failed: ECONNREFUSED",
          nextAttemptAt: "2026-01-01T00:09:30.000Z",
        },
      ],
    },
  ],
};

const viewer: Principal = { name: "bob", role: "viewer", csrf: "c", sessionId: "s1", via: "session" };
const operator: Principal = { name: "alice", role: "operator", csrf: "c", sessionId: "s2", via: "session" };

test("the delivery log per channel and the maintenance windows; a stopped notifier: named, with the last log and its age", async () => {
  const clock = new ManualClock(Date.parse("2026-01-01T00:10:00.000Z"));
  const asked: unknown[] = [];
  const served = await notifier.service({
    name: "notifier",
    version: "0.1.0",
    endpoints: [
      endpoint(notifyDeliveries, async (req) => {
        asked.push(req);
        return log;
      }),
      endpoint(silenceList, async () => ({ silences: [] })),
    ],
  });
  const windows = await detector.service({
    name: "loop-detector",
    version: "0.1.0",
    endpoints: [
      endpoint(maintenanceList, async () => ({
        windows: <MaintenanceInfo[]>[
          {
            name: "backup",
            source: "runtime",
            match: { check: ["redis"] },
            start: "2026-01-01T00:00:00.000Z",
            end: "2026-01-01T02:00:00.000Z",
            createdBy: "user:alice",
            active: true,
            activeUntil: "2026-01-01T02:00:00.000Z",
          },
          {
            name: "weekly",
            source: "config",
            match: { kind: ["service.down"] },
            cron: "0 2 * * 0",
            duration: 7_200_000,
            tz: "UTC",
            createdBy: null,
            active: false,
            activeUntil: null,
          },
        ],
      })),
    ],
  });
  try {
    const mesh = new MeshClient(caller, () => clock.now());
    const fresh = await loadNotifications(mesh);
    assert.equal(fresh.deliveries.error, undefined);
    assert.deepEqual(asked, [{ limit: 25 }]);
    const page = notificationsPage(fresh, operator, clock.now()).text;
    assert.match(page, /id="deliveries-hook"/);
    assert.match(page, /id="deliveries-down"/);
    assert.match(page, /sent 0 · retried 1 · failed 1/);
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, "an error is text");
    assert.match(page, /&lt;b&gt;x&lt;\/b&gt;/, "so is an entity");
    assert.doesNotMatch(page, /<script>alert/);
    assert.match(page, /ECONNREFUSED/);
    assert.match(page, /and 2 more/);
    assert.match(page, /<\/a> \(resolved\) and 2 more/, "a loop the message reported resolved says so");
    assert.match(page, /href="\/loops\/l1"/);
    assert.match(page, /cron 0 2 \* \* 0 for 2h \(UTC\)/);
    assert.match(page, /action="\/notifications\/maintenance\/backup\/end"/, "an operator may end a runtime window");
    assert.doesNotMatch(page, /maintenance\/weekly\/end/, "not one of mirror.yaml");
    assert.match(page, /Add window/);
    const read = notificationsPage(fresh, viewer, clock.now()).text;
    assert.doesNotMatch(
      read,
      /<button|<form method="post" action="\/notifications/,
      "a viewer gets no buttons and no forms",
    );
    assert.match(read, /id="deliveries-down"/);

    await served.stop();
    clock.advance(42_000);
    const stale = await loadNotifications(mesh);
    assert.match(stale.deliveries.error ?? "", /^notifier unreachable/);
    const shown = notificationsPage(stale, operator, clock.now()).text;
    assert.match(shown, /notifier unreachable[^<]*Showing data from 42 s ago/);
    assert.match(shown, /id="deliveries-down"/, "the last log is still shown");
    assert.equal(stale.maintenance.error, undefined, "the loop-detector still answers");

    const never = await loadNotifications(new MeshClient(caller, () => clock.now()));
    assert.equal(never.deliveries.data, undefined);
    assert.match(notificationsPage(never, operator, clock.now()).text, /notifier unreachable[^<]*No data yet/);
  } finally {
    await windows.stop();
  }
});

test("a maintenance form or JSON body becomes the loop-detector's request; no name or no matcher is a 400", () => {
  assert.deepEqual(
    maintenanceRequest({ name: "backup", check: "redis, db", repo: "", kind: "", for: "2h", until: "" }),
    { name: "backup", match: { check: ["redis", "db"] }, for: "2h" },
  );
  assert.deepEqual(maintenanceRequest({ name: "b", match: { kind: ["service.down"] }, until: "2026-12-24T18:00" }), {
    name: "b",
    match: { kind: ["service.down"] },
    until: "2026-12-24T18:00:00Z",
  });
  assert.deepEqual(maintenanceRequest({ name: "b", repo: "/src/a", for: "2h", until: "2026-12-24T18:00:00+01:00" }), {
    name: "b",
    match: { repo: ["/src/a"] },
    until: "2026-12-24T18:00:00+01:00",
  });
  assert.deepEqual(
    maintenanceRequest({
      name: "n",
      kind: "repo.dirty",
      for: "2h",
      cron: "0 2 * * 0",
      duration: "1h",
      tz: "Europe/Berlin",
    }),
    { name: "n", match: { kind: ["repo.dirty"] }, cron: "0 2 * * 0", duration: "1h", tz: "Europe/Berlin" },
  );
  for (const bad of [{ check: "redis" }, { name: "x" }, { name: "x", check: " , " }, undefined]) {
    assert.throws(
      () => maintenanceRequest(bad),
      (err: unknown) => err instanceof ConsoleError && err.status === 400,
    );
  }
});
