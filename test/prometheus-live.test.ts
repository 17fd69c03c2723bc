// The shipped alert rules in the real `prometheus` server (Debian's package, as .ci/run installs
// it) scraping the real `pnpm start`, as a new user would run them: one webhook that always
// answers 400 and one garbage message on mirror.repo.snapshot.x are enough for
// MirrorNotificationsFailing and MirrorDeadLettersGrowing to fire. Their counters exist at 0 from
// start-up, so the first failure is an increase Prometheus sees.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DlqReason } from "@mirror/contracts";
import {
  freePort,
  makeRepo,
  type Mesh,
  type Receiver,
  type ServerHandle,
  startMesh,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { stringify } from "yaml";
import { openProbe, type Probe } from "./faults-kit/probe.js";
import { PROMETHEUS } from "./observability/queries.js";

interface PromAlert {
  labels: Record<string, string>;
  state: string;
  value: string;
}

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
let mesh: Mesh;
let prom: ChildProcess;
let promUrl: string;
let probe: Probe;
const promLog: string[] = [];
/** The services these alerts are about (started by name, so a service added later changes nothing here). */
const SERVICES = ["scanner", "service-tracker", "loop-detector", "notifier", "model-rules"] as const;

/** Prometheus on a free port, scraping every service each second and evaluating alerts.yml each second. */
async function startPrometheus(ports: Record<string, number>): Promise<void> {
  const dir = tempDir("mirror-prometheus-");
  const port = await freePort();
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [join(PROMETHEUS, "alerts.yml")],
    scrape_configs: [
      {
        job_name: "mirror",
        static_configs: Object.entries(ports).map(([service, p]) => ({
          targets: [`127.0.0.1:${p}`],
          labels: { service },
        })),
      },
    ],
  };
  writeFileSync(join(dir, "prometheus.yml"), stringify(config));
  prom = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  prom.on("error", (err) => promLog.push(String(err)));
  prom.stderr?.on("data", (d: Buffer) => promLog.push(d.toString()));
  promUrl = `http://127.0.0.1:${port}`;
  await waitFor("prometheus ready", async () => (await fetch(`${promUrl}/-/ready`).catch(() => null))?.ok, {
    timeout: 30_000,
  }).catch((err) => {
    throw new Error(`${(err as Error).message}: is the prometheus package installed (.ci/run)?\n${promLog.join("")}`);
  });
}

async function firing(): Promise<PromAlert[]> {
  const res = await fetch(`${promUrl}/api/v1/alerts`);
  const body = (await res.json()) as { data: { alerts: PromAlert[] } };
  return body.data.alerts.filter((a) => a.state === "firing");
}

before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
  hook.respond(() => 400);
  const root = tempDir("mirror-prom-roots-");
  writeFileSync(join(makeRepo(join(root, "dirty")), "notes.txt"), "unfinished\n");
  const ports: Record<string, number> = {};
  for (const name of SERVICES) ports[name] = await freePort();
  const p = (name: (typeof SERVICES)[number]) => ports[name];
  const yaml = `scanner: { port: ${p("scanner")}, roots: [ "${root}" ], interval: 1s }
tracker: { port: ${p("service-tracker")} }
loops: { port: ${p("loop-detector")}, rules: { repo.dirty: { after: 0s } } }
notifier: { port: ${p("notifier")}, groupWait: 0s, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
model: { port: ${p("model-rules")} }
`;
  // Prometheus first, so it scrapes the counters at 0 before anything fails.
  await startPrometheus(ports);
  mesh = startMesh(yaml, {
    names: [...SERVICES],
    env: { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" },
  });
  try {
    for (const name of SERVICES) await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 120_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${mesh.output.slice(-30).join("\n")}`);
  }
  probe = await openProbe(nats.url);
});

after(async () => {
  await probe?.close();
  await mesh?.stop();
  prom?.kill("SIGTERM");
  await hook?.close();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

test("one webhook answering 400 and one garbage snapshot fire MirrorNotificationsFailing and MirrorDeadLettersGrowing", async () => {
  await probe.publish("mirror.repo.snapshot.x", "this is not json");
  const alerts = await waitFor(
    "both alerts firing in Prometheus",
    async () => {
      const now = await firing();
      const failing = now.find(
        (a) => a.labels.alertname === "MirrorNotificationsFailing" && a.labels.channel === "hook",
      );
      const dlq = now.find(
        (a) => a.labels.alertname === "MirrorDeadLettersGrowing" && a.labels.service === "loop-detector",
      );
      return failing && dlq ? { failing, dlq } : undefined;
    },
    { timeout: 120_000, interval: 1_000 },
  );
  assert.equal(alerts.failing.labels.service, "notifier");
  assert.equal(alerts.failing.labels.severity, "critical");
  // Unsigned garbage is refused for its missing signature before its JSON is read (signing is on by default).
  assert.ok(
    DlqReason.options.includes(alerts.dlq.labels.reason as DlqReason),
    `a dead-letter reason: ${alerts.dlq.labels.reason}`,
  );
  assert.ok(Number(alerts.failing.value) >= 1 && Number(alerts.dlq.value) >= 1, "each counts at least the one failure");
});

test("every alert in the webhook's payload has instance and job", async () => {
  const attempt = await waitFor("a webhook attempt", () => hook.attempts[0]);
  const body = attempt.json as { alerts: { labels: Record<string, string> }[] };
  assert.ok(body.alerts.length > 0);
  for (const a of body.alerts) {
    assert.equal(a.labels.job, "scanner");
    assert.ok(a.labels.instance, "instance is set");
  }
});

test("JetStream health reaches Prometheus without an exporter: each consumer's own figures", async () => {
  const series = await waitFor(
    "mirror_jetstream_consumer_pending of the notifier's and the loop-detector's consumers",
    async () => {
      const res = await fetch(
        `${promUrl}/api/v1/query?query=${encodeURIComponent("mirror_jetstream_consumer_pending")}`,
      );
      const body = (await res.json()) as { data: { result: { metric: Record<string, string> }[] } };
      const consumers = body.data.result.map((r) => r.metric.consumer);
      return consumers.includes("notifier") && consumers.some((c) => c?.startsWith("loop-detector"))
        ? consumers
        : undefined;
    },
    { timeout: 30_000, interval: 1_000 },
  );
  assert.ok(series.length >= 2, `each consumer its own series: ${series.join(", ")}`);
});
