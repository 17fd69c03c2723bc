// Issue 10, "bad input everywhere": fast-check throws hostile payloads at every subscribed subject,
// every request/reply endpoint and every HTTP route of a running mesh (`pnpm start`, real NATS
// and Redis). Nothing crashes, nothing reaches state or the webhook, each bad message lands on
// mirror.dlq.<service> with a reason and is counted, and HTTP answers 4xx (400 with the reason).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DlqReason } from "@mirror/contracts";
import {
  commitAll,
  type Mesh,
  makeRepo,
  type Receiver,
  type ServerHandle,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { headers as natsHeaders } from "@nats-io/nats-core";
import fc from "fast-check";
import { type DlqWatch, watchDlq } from "./faults-kit/dlq-watch.js";
import { alertsOf } from "./faults-kit/hook.js";
import { hostileMessage, hostilePayload } from "./faults-kit/hostile.js";
import { httpCase, send } from "./faults-kit/http-fuzz.js";
import {
  assertCleanStop,
  deaths,
  meshPorts,
  metric,
  type Ports,
  portSections,
  readiness,
  runMesh,
  waitStarted,
} from "./faults-kit/mesh.js";
import { openProbe, type Probe, waitLagZero } from "./faults-kit/probe.js";

/** Each subscribed subject family and the service whose consumer must refuse garbage on it. */
const FAMILIES = {
  "mirror.repo.snapshot": "loop-detector",
  "mirror.repo.gone": "loop-detector",
  "mirror.service.status": "loop-detector",
  "mirror.heartbeat": "service-tracker",
  "mirror.loop.opened": "notifier",
  "mirror.loop.updated": "notifier",
  "mirror.loop.closed": "notifier",
} as const;
const ENDPOINTS = [
  "mirror.loops.list",
  "mirror.loops.get",
  "mirror.loops.ack",
  "mirror.loops.close",
  "mirror.loops.snooze",
  "mirror.loops.reopen",
  "mirror.loops.unack",
  "mirror.scan.now",
  "mirror.notifier.silence.add",
  "mirror.notifier.silence.list",
  "mirror.notifier.silence.expire",
  "mirror.notifier.deliveries",
  "mirror.model.triage",
  "mirror.model.digest",
  "mirror.model.ask",
  "$SRV.PING",
  "$SRV.INFO",
  "$SRV.STATS",
];
const RUNS = Number(process.env.MIRROR_FUZZ_RUNS ?? 150);

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
let probe: Probe;
let dlq: DlqWatch;
let mesh: Mesh;
let ports: Ports;
let repo: string;
const counts = { messages: 0, requests: 0, http: 0 };

before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
  probe = await openProbe(nats.url);
  dlq = watchDlq(probe.nc);
  const root = tempDir("mirror-bad-input-");
  repo = makeRepo(join(root, "real"));
  ports = await meshPorts();
  const p = portSections(ports);
  mesh = runMesh(
    `scanner: { ${p.scanner}, roots: [ "${root}" ], interval: 1s }
tracker: { ${p.tracker}, discoverEvery: 1s }
loops: { ${p.loops}, rules: { repo.dirty: { after: 0s }, service.down: { after: 0s } } }
notifier: { ${p.notifier}, groupWait: 1s, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
model: { ${p.model} }
`,
    nats,
    redis,
  );
  await waitStarted(mesh);
});
after(async () => {
  const code = mesh ? await mesh.stop() : 0;
  dlq?.stop();
  await probe?.close();
  await Promise.all([nats?.dispose(), redis?.dispose(), hook?.close()]);
  if (mesh) assertCleanStop(mesh, code);
});

test("garbage on every subscribed subject is dead-lettered by its consumer, with a reason", async (t) => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...(Object.keys(FAMILIES) as (keyof typeof FAMILIES)[])),
      hostileMessage,
      async (family, msg) => {
        const id = `fuzz-${process.pid}-${n++}`;
        const h = natsHeaders();
        for (const [k, v] of Object.entries(msg.headers ?? {})) h.set(k, v);
        await probe.js.publish(`${family}.fuzz${n % 5}`, msg.bytes, { msgID: id, headers: h });
        counts.messages++;
        const dead = await dlq.wait(id, 60_000);
        assert.equal(dead.service, FAMILIES[family], `${msg.label} on ${family}`);
        assert.equal(dead.dlqSubject, `mirror.dlq.${FAMILIES[family]}`);
        assert.ok(DlqReason.options.includes(dead.reason), dead.reason);
        assert.ok(dead.error.length > 0, "a dead letter says why");
      },
    ),
    { numRuns: RUNS, endOnFailure: true },
  );
  await waitLagZero(probe, 60_000);
  for (const service of new Set(Object.values(FAMILIES))) {
    assert.ok((await metric(ports[service], "mirror_bus_dlq_total")) > 0, `${service} counts what it dead-letters`);
  }
  t.diagnostic(`${counts.messages} hostile messages, ${dlq.byId.size} dead letters`);
});

test("hostile requests to every request/reply endpoint get an error reply (4xx with a reason) or a valid answer", async () => {
  const body = fc.oneof(
    hostilePayload.map((h) => h.bytes),
    fc.object({ maxDepth: 2 }).map((o) => new TextEncoder().encode(JSON.stringify(o))),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ENDPOINTS), body, async (subject, bytes) => {
      counts.requests++;
      const reply = await probe.nc.request(subject, bytes, { timeout: 30_000 });
      const code = reply.headers?.get("Nats-Service-Error-Code");
      if (code) {
        assert.ok(
          Number(code) >= 400 && Number(code) < 500,
          `${subject} answered ${code}: ${reply.headers?.get("Nats-Service-Error")}`,
        );
        assert.ok((reply.headers?.get("Nats-Service-Error") ?? "").length > 0, "an error reply says why");
      } else {
        assert.doesNotThrow(() => JSON.parse(reply.string()), `${subject} replied with JSON`);
      }
    }),
    { numRuns: RUNS, endOnFailure: true },
  );
});

test("hostile HTTP requests to every route answer 4xx, a 400 with the reason; never 5xx", async () => {
  await fc.assert(
    fc.asyncProperty(httpCase, async (c) => {
      counts.http++;
      const { status, reason } = await send(ports, c, mesh.httpToken());
      assert.ok(
        status < 500,
        `${c.method} ${c.service}${c.path.slice(0, 200)} (${c.body?.label ?? "no body"}, ${c.contentType}) answered ${status}`,
      );
      if (status === 400) assert.ok(reason, `${c.method} ${c.path.slice(0, 200)}: a 400 says why`);
    }),
    { numRuns: RUNS * 2, endOnFailure: true },
  );
});

test("afterwards: nothing crashed, nothing reached state or the webhook, and a real change still flows", async (t) => {
  assert.deepEqual(deaths(mesh), [], "no service died");
  assert.ok(
    Object.values(await readiness(ports)).every((s) => s === 200),
    "every service ready",
  );
  const res = await fetch(`http://127.0.0.1:${ports["loop-detector"]}/loops`);
  const { loops } = (await res.json()) as { loops: { entity: { repo?: string; service?: string } }[] };
  assert.deepEqual(
    loops.filter((l) => l.entity.repo !== undefined && l.entity.repo !== repo),
    [],
    "no loop about a garbage repo",
  );
  assert.deepEqual(
    hook.requests.map((r) => r.body.slice(0, 200)),
    [],
    "no notification came out of garbage",
  );
  writeFileSync(join(repo, "wip.txt"), "real work\n");
  await waitFor(
    "the real repo notified",
    () => hook.requests.some((r) => alertsOf(r).some((a) => a.labels.repo === repo && a.status === "firing")),
    { timeout: 120_000 },
  );
  t.diagnostic(`figures ${JSON.stringify({ ...counts, deadLetters: dlq.byId.size, crashed: deaths(mesh).length })}`);
});

/** A service status as the tracker publishes it, with `over` fields replaced (serialized by hand: `over` may hold what JSON.stringify cannot). */
function statusBytes(name: string, over: Record<string, string>): Uint8Array {
  const now = new Date().toISOString();
  const base: Record<string, string> = {
    name: JSON.stringify(name),
    kind: '"http"',
    state: '"down"',
    observedAt: JSON.stringify(now),
    seq: String(Date.now()),
    since: JSON.stringify(now),
    latencyMs: "null",
    reason: '"refused"',
    failedConditions: "[]",
    heartbeat: "null",
    cert: "null",
    dependsOn: "[]",
    details: "{}",
    ...over,
  };
  return new TextEncoder().encode(
    `{${Object.entries(base)
      .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
      .join(",")}}`,
  );
}

test("well-formed events with hostile values are handled or refused promptly, and block nothing", async (t) => {
  const deepArray = (d: number) => `${"[".repeat(d)}${"]".repeat(d)}`;
  const cases: [string, Uint8Array][] = [
    ["deep details", statusBytes("fuzz-deep", { details: `{"x":${deepArray(100_000)}}` })],
    ["900 KB reason", statusBytes("fuzz-huge-reason", { reason: JSON.stringify("r".repeat(900 * 1024)) })],
    // Fits under max_payload itself, but the loop event built from it does not: it must not block the loop-detector.
    ["reason at the limit", statusBytes("fuzz-at-limit", { reason: JSON.stringify("r".repeat(1024 * 1024 - 1_000)) })],
    ["900 KB name", statusBytes("n".repeat(900 * 1024), {})],
    ["NUL name", statusBytes("fuzz\u0000nul", {})],
    [
      "prototype keys in details",
      statusBytes("fuzz-proto", {
        details: '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
      }),
    ],
    ["far-future observation", statusBytes("fuzz-future", { observedAt: '"9999-12-31T23:59:59.999Z"', seq: "1e300" })],
  ];
  const started = Date.now();
  for (const [label, bytes] of cases) {
    await probe.js.publish(`mirror.service.status.fuzz-${label.replace(/[^a-z0-9]/gi, "_")}`, bytes, {
      msgID: `hostile-values-${label}-${started}`,
    });
  }
  await waitLagZero(probe, 60_000);
  const tookMs = Date.now() - started;
  assert.ok(
    Object.values(await readiness(ports)).every((s) => s === 200),
    "every service ready",
  );
  assert.deepEqual(deaths(mesh), [], "no service died");
  const dead = [...dlq.byId.values()].filter((d) => d.subject.startsWith("mirror.service.status.fuzz-"));
  t.diagnostic(
    `hostile well-formed events settled in ${tookMs} ms; dead letters: ${dead.map((d) => `${d.subject.slice(22, 60)}: ${d.reason} (${d.error.slice(0, 80)})`).join("; ")}`,
  );
  // The pipeline still flows afterwards: a real change reaches the webhook.
  const before = hook.requests.length;
  commitAll(repo, "the real work is done");
  await waitFor(
    "the real repo resolved",
    () =>
      hook.requests
        .slice(before)
        .some((r) => alertsOf(r).some((a) => a.labels.repo === repo && a.status === "resolved")),
    { timeout: 120_000 },
  );
});

test("a hostile member answering the tracker's $SRV discovery with garbage is counted, not trusted", async (t) => {
  const garbage = fc.sample(hostilePayload, 60);
  let answered = 0;
  const subs = ["$SRV.PING", "$SRV.INFO", "$SRV.STATS"].map((subject) =>
    probe.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err || !msg.reply) return;
        msg.respond(garbage[answered++ % garbage.length]?.bytes ?? new Uint8Array());
      },
    }),
  );
  try {
    await waitFor(
      "the tracker counting bad $SRV replies",
      async () => (await metric(ports["service-tracker"], "mirror_tracker_mesh_bad_replies_total")) >= 20,
      { timeout: 60_000, interval: 250 },
    );
  } finally {
    for (const s of subs) s.unsubscribe();
  }
  assert.ok(
    Object.values(await readiness(ports)).every((s) => s === 200),
    "every service ready",
  );
  assert.deepEqual(deaths(mesh), [], "no service died");
  t.diagnostic(`${answered} hostile $SRV replies`);
});
