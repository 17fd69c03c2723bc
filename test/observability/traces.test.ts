// The "tried as a new user would" for traces, as a test: `pnpm start` with
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP JSON receiver. A dirty repo gives
// one trace from the scanner through the loop-detector to the notifier and its outgoing webhook
// request, which carries the same trace id in `traceparent` — both for a repo already dirty when
// the mesh starts (the loop-detector may first see it in its rebuild from JetStream, and ask the
// model before it runs) and for one dirtied while everything runs; model triage is in both.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { type ObservedMesh, startObservedMesh } from "./mesh.js";
import { byTrace, type ReceivedSpan, spansOf, traceIdOf } from "./otlp.js";

const CLIENT = 3; // SpanKind.CLIENT in OTLP

let nats: ServerHandle;
let redis: ServerHandle;
let obs: ObservedMesh;

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
  obs = await startObservedMesh(nats, redis, { traces: true });
});
after(async () => {
  await obs?.stop();
  await Promise.all([nats.dispose(), redis.dispose()]);
});

const describe = (spans: ReceivedSpan[]) =>
  spans.map((s) => `${s.service}: ${s.name} (${s.spanId} <- ${s.parentSpanId || "root"})`).join("\n");
const received = () => (obs.otlp?.requests ?? []).filter((r) => r.url === "/v1/traces").flatMap((r) => spansOf(r.json));

/**
 * Waits for the webhook delivery about `repo` and for its trace to hold spans of `services` and
 * the parent of every span in it: each service exports its spans in its own batches, so a
 * consumer's span (history's handling of a loop event) can arrive before its producer's publish.
 */
async function traceOfDelivery(repo: string, services: string[]): Promise<ReceivedSpan[]> {
  const delivery = await obs.hook.waitFor(`the webhook delivery about ${repo}`, (r) => r.body.includes(repo), 60_000);
  const traceId = traceIdOf(delivery.headers.traceparent);
  assert.ok(traceId, `the webhook request carries a traceparent: ${JSON.stringify(delivery.headers)}`);
  const complete = (t: ReceivedSpan[]) => {
    const ids = new Set(t.map((s) => s.spanId));
    return (
      services.every((name) => t.some((s) => s.service === name)) &&
      t.some((s) => s.service === "notifier" && s.kind === CLIENT) &&
      t.every((s) => !s.parentSpanId || ids.has(s.parentSpanId))
    );
  };
  return waitFor(
    `spans of ${services.join(", ")}, the webhook request and every span's parent in trace ${traceId}`,
    () => {
      const t = byTrace(received()).get(traceId) ?? [];
      return complete(t) ? t : undefined;
    },
    { timeout: 30_000 },
  ).catch((err) =>
    assert.fail(`${(err as Error).message}; the trace has:\n${describe(byTrace(received()).get(traceId) ?? [])}`),
  );
}

/** One tree: a single root (the scanner's publish), every other span's parent in the same trace. */
function assertOneTree(trace: ReceivedSpan[]): void {
  const ids = new Set(trace.map((s) => s.spanId));
  const roots = trace.filter((s) => !s.parentSpanId).map((s) => `${s.service}: ${s.name}`);
  assert.deepEqual(roots, ["scanner: publish mirror.repo.snapshot"], describe(trace));
  for (const s of trace)
    if (s.parentSpanId)
      assert.ok(ids.has(s.parentSpanId), `the parent of ${s.service} "${s.name}" is in the trace:\n${describe(trace)}`);
  const client = trace.find((s) => s.service === "notifier" && s.kind === CLIENT);
  assert.equal(
    client?.attributes["url.full"],
    obs.hook.url,
    "the delivery span keeps only the origin of the URL (tokens live in paths)",
  );
}

test("a repo dirty before the mesh starts gives one trace: scanner -> loop-detector (-> model triage, retried) -> notifier -> webhook", async () => {
  // The loop-detector may open it from its rebuild, before model-rules runs: the retried triage
  // still joins the trace of the snapshot that opened the loop.
  const trace = await traceOfDelivery(obs.dirty, ["scanner", "loop-detector", "model-rules", "notifier"]);
  assertOneTree(trace);
});

test("a repo dirtied while the mesh runs gives one trace that includes model triage", async () => {
  writeFileSync(join(obs.clean, "todo.txt"), "later\n");
  const trace = await traceOfDelivery(obs.clean, ["scanner", "loop-detector", "model-rules", "notifier"]);
  assertOneTree(trace);
  assert.ok(
    trace.some((s) => s.service === "model-rules" && s.name === "request mirror.model.triage"),
    describe(trace),
  );
});
