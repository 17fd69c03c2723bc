// Logs are data: with the SDK on, every line a handler writes has `service`, `trace_id` and
// `span_id` (those of its consumer span); lines outside a handler have none; secrets under
// `*.secret`, `*.apiKey`, `*.password` and authorization headers are redacted.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { heartbeat } from "@mirror/contracts";
import { parseConfig, type RunningService, runService, startTracing, type Tracing } from "@mirror/kit";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";

const memory = new InMemorySpanExporter();
const lines: Record<string, unknown>[] = [];
const sink = { write: (l: string) => void lines.push(JSON.parse(l)) } as never;
let nats: ServerHandle;
let redis: ServerHandle;
let tracing: Tracing;
let svc: RunningService;

before(async () => {
  tracing = await startTracing({
    serviceName: "mirror-logs",
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const config = parseConfig("{}", { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url });
  svc = await runService(
    {
      name: "service-tracker",
      port: () => 0,
      start: async (ctx) => {
        ctx.bus.consume(heartbeat, "obs-logs", async (hb, m) => {
          m.log.info(
            {
              check: hb.name,
              channel: { secret: "s3cr3t-value", apiKey: "sk-live-123" },
              req: { headers: { authorization: "Bearer tok-abc" } },
            },
            "check-in handled",
          );
        });
        return {};
      },
    },
    { config, port: 0, logDest: sink },
  );
});
after(async () => {
  await svc?.stop();
  await tracing.stop();
  await Promise.all([nats.dispose(), redis.dispose()]);
});

test("a handler's log line names its service, trace and span; secrets are redacted", async () => {
  await svc.ctx.bus.publish(
    heartbeat,
    "backup",
    { name: "backup", at: new Date().toISOString() },
    { id: "hb-backup-1" },
  );
  const line = await waitFor("the handler's log line", () => lines.find((l) => l.msg === "check-in handled"));
  // The line is written inside the handler; its span ends (and is exported) only after the handler returns.
  const span = await waitFor("the consumer span was recorded", () =>
    memory.getFinishedSpans().find((s) => s.name === "handle mirror.heartbeat"),
  );
  assert.equal(line.service, "service-tracker");
  assert.equal(line.trace_id, span.spanContext().traceId);
  assert.equal(line.span_id, span.spanContext().spanId);
  const text = JSON.stringify(line);
  for (const secret of ["s3cr3t-value", "sk-live-123", "tok-abc"])
    assert.ok(!text.includes(secret), `${secret} is not logged: ${text}`);
  const started = lines.find((l) => l.msg === "service started");
  assert.ok(started && !("trace_id" in started), "a line outside any span has no trace_id");
});
