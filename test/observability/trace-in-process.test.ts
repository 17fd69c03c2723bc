// The real services run in this process with the SDK started by the kit's startTracing and an
// in-memory exporter: one dirty repo's spans from scanner, loop-detector, model-rules and
// notifier (and the webhook request) share one trace id and form one tree.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseConfig, type RunningService, runService, startTracing, type Tracing } from "@mirror/kit";
import {
  makeRepo,
  type Receiver,
  type ServerHandle,
  startNats,
  startReceiver,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { loopDetectorSpec } from "../../services/loop-detector/src/app.js";
import { modelRules } from "../../services/model-rules/src/service.js";
import { notifierService } from "../../services/notifier/src/app.js";
import { startScanner } from "../../services/scanner/src/app.js";
import { traceIdOf } from "./otlp.js";

const memory = new InMemorySpanExporter();
const sink = { write: () => true } as never;
let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;
let tracing: Tracing;
const running: RunningService[] = [];

before(async () => {
  tracing = await startTracing({
    serviceName: "mirror-in-process",
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
});
after(async () => {
  for (const r of running.reverse()) await r.stop();
  await tracing.stop();
  await Promise.all([nats.dispose(), redis.dispose(), hook.close()]);
});

/** Which service a span belongs to: the bus's spans say so, and an HTTP client span inherits its handler's. */
function serviceOf(s: ReadableSpan): string | undefined {
  return s.attributes["mirror.service"] as string | undefined;
}

test("one dirty repo: spans of four services and the webhook request share one trace id, in one tree", async () => {
  const root = tempDir("mirror-inproc-");
  const repo = makeRepo(join(root, "repo"));
  writeFileSync(join(repo, "wip.txt"), "not committed\n");
  const config = parseConfig(
    `scanner: { roots: [ "${root}" ], interval: 1s }
loops: { rules: { repo.dirty: { after: 0s } } }
notifier: { groupWait: 0s, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
`,
    { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url },
  );
  const specs = [
    modelRules,
    loopDetectorSpec(),
    notifierService({ tickMs: 50 }),
    { name: "scanner", port: () => 0, start: startScanner },
  ];
  // The consumers first, so the scanner's snapshot is handled (not found by a rebuild).
  // As in a process with an OTLP endpoint set: each service joins the SDK started above (one per
  // process) and runs in its own scope, so its spans carry its own service's resource.
  const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" };
  for (const spec of specs) running.push(await runService(spec, { config, env, port: 0, logDest: sink }));
  const delivery = await hook.waitFor("the webhook delivery", (r) => r.body.includes(repo), 30_000);
  const traceId = traceIdOf(delivery.headers.traceparent);
  assert.ok(traceId, "the delivery carries a traceparent");
  const spans = await waitFor("the notifier's webhook request span", () => {
    const t = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    return t.some((s) => s.kind === SpanKind.CLIENT) ? t : undefined;
  }).catch((err) =>
    assert.fail(
      `${(err as Error).message}: ${memory
        .getFinishedSpans()
        .map(
          (s) =>
            `${s.spanContext().traceId === traceId ? "*" : " "} ${s.name} ${s.kind} ${s.instrumentationScope.name}`,
        )
        .join("\n")}`,
    ),
  );
  const services = new Set(spans.map(serviceOf).filter(Boolean));
  assert.deepEqual(
    [...services].sort(),
    ["loop-detector", "model-rules", "notifier", "scanner"],
    spans.map((s) => s.name).join(", "),
  );
  // The services share this process's one SDK: each span still carries its own service's resource.
  for (const s of spans)
    assert.equal(s.resource.attributes["service.name"], serviceOf(s), `${s.name}: ${JSON.stringify(s.attributes)}`);
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const roots = spans.filter((s) => !s.parentSpanContext || !ids.has(s.parentSpanContext.spanId)).map((s) => s.name);
  assert.deepEqual(roots, ["publish mirror.repo.snapshot"], "one tree, rooted at the scanner's publish");
});
