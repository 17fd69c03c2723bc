import { AsyncLocalStorage } from "node:async_hooks";
import { isSpanContextValid, trace } from "@opentelemetry/api";
import type { NodeSDKConfiguration, tracing } from "@opentelemetry/sdk-node";

type SpanProcessor = tracing.SpanProcessor;

/** A started OpenTelemetry SDK; stop() flushes the spans still buffered. */
export interface Tracing {
  stop(): Promise<void>;
}

export interface TracingOptions {
  /** The `service.name` resource attribute (wins over OTEL_SERVICE_NAME: every service of `pnpm start` shares one env). */
  serviceName: string;
  /** Replaces the exporters chosen from OTEL_* (tests use an in-memory exporter). */
  spanProcessors?: NodeSDKConfiguration["spanProcessors"];
  /** How long stop() may wait for the last export (a service must exit within 5 s of SIGTERM). */
  flushTimeoutMs?: number;
}

/** Whether the standard variables ask for traces: an OTLP endpoint is set and the SDK is not disabled. */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

// One SDK per process: the OpenTelemetry API holds one global provider. Services run in-process
// together (tests) share it and the last one to stop shuts it down.
let shared: { sdk: Promise<{ shutdown(): Promise<void> }>; users: number } | undefined;

/**
 * Starts the SDK when OTEL_EXPORTER_OTLP_ENDPOINT is set (otherwise loads nothing and returns
 * undefined). Honours the standard OTEL_* variables (exporter, protocol, headers, sampler,
 * resource attributes); OTLP defaults to HTTP with JSON bodies.
 */
export async function setupTracing(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined;
  return startTracing({ serviceName }, env);
}

/** Starts (or joins) the process's SDK unconditionally; see setupTracing. */
export async function startTracing(opts: TracingOptions, env: NodeJS.ProcessEnv = process.env): Promise<Tracing> {
  shared ??= { sdk: loadSdk(opts, env), users: 0 };
  const mine = shared;
  mine.users++;
  const sdk = await mine.sdk;
  let stopped = false;
  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (--mine.users > 0) return;
      if (shared === mine) shared = undefined;
      await withTimeout(sdk.shutdown(), opts.flushTimeoutMs ?? 1_500);
    },
  };
}

async function loadSdk(opts: TracingOptions, env: NodeJS.ProcessEnv): Promise<{ shutdown(): Promise<void> }> {
  // Imported here so that a service without OTEL_EXPORTER_OTLP_ENDPOINT never loads the SDK.
  const [{ NodeSDK, resources }, { OTLPTraceExporter }, { UndiciInstrumentation }, fromEnv, utils] = await Promise.all([
    import("@opentelemetry/sdk-node").then(commonJs),
    import("@opentelemetry/exporter-trace-otlp-http").then(commonJs),
    import("@opentelemetry/instrumentation-undici").then(commonJs),
    // What NodeSDK does with OTEL_TRACES_EXPORTER and OTEL_BSP_*, called here so that the
    // attribution below runs before the exporters' processors (NodeSDK takes one list).
    import("@opentelemetry/sdk-node/build/src/create-from-env.js").then(commonJs),
    import("@opentelemetry/sdk-node/build/src/utils.js").then(commonJs),
  ]);
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  // The SDK's own default is http/protobuf; JSON is what a plain HTTP receiver reads.
  const jsonByDefault = !opts.spanProcessors && !protocol && (!exporters || exporters === "otlp");
  const processors: SpanProcessor[] =
    opts.spanProcessors ??
    (jsonByDefault
      ? [fromEnv.createBatchSpanProcessorFromEnv(new OTLPTraceExporter())]
      : utils.getSpanProcessorsFromEnv(undefined));
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    spanProcessors: processors.length
      ? [serviceAttribution(opts.serviceName, resources.resourceFromAttributes), ...processors]
      : [],
    // Metrics are Prometheus (/metrics) and logs are pino on stdout: the SDK sends neither
    // unless OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER ask for it.
    ...(env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
    // Outgoing HTTP (fetch/undici: notifier deliveries, model APIs) as client spans, with
    // traceparent on the request; only inside a trace, so periodic probes make no root spans.
    instrumentations: [new UndiciInstrumentation({ requireParentforSpans: true, startSpanHook: redactUrl })],
  });
  sdk.start();
  return sdk;
}

/** The `mirror.service` attribute: the service a span belongs to (the bus sets it on its spans). */
export const SERVICE_ATTRIBUTE = "mirror.service";

const serviceScope = new AsyncLocalStorage<string>();

/**
 * Runs `fn` (a service's start: its connections, servers and timers) as service `name`: what runs
 * later from them (a handler, a delivery) still knows whose it is. runService() uses it only with
 * tracing on: an AsyncLocalStorage in use costs every promise a hook.
 */
export function inServiceScope<T>(name: string, fn: () => T): T {
  return serviceScope.run(name, fn);
}

type SdkSpan = Parameters<SpanProcessor["onStart"]>[0];

/**
 * Gives each span the resource of the service it belongs to. Services sharing a process (`pnpm
 * start`'s shared processes, `--single`) share its one SDK, whose resource names one of them.
 * A span's service is its `mirror.service` attribute (the bus's spans), else the service whose
 * work started it (inServiceScope: the notifier's webhook POST, sent after its handler ended),
 * else its parent's in this process; the span gets that attribute and a resource with that
 * `service.name`. A process of one service keeps its resource.
 */
export function serviceAttribution(
  processService: string,
  fromAttributes: (attrs: Record<string, string>) => SdkSpan["resource"],
): SpanProcessor {
  const byService = new Map<string, SdkSpan["resource"]>();
  return {
    onStart(span, parent) {
      const own = span.attributes[SERVICE_ATTRIBUTE];
      let service: string;
      if (typeof own === "string") service = own;
      else {
        const inherited =
          serviceScope.getStore() ??
          (trace.getSpan(parent) as Partial<SdkSpan> | undefined)?.attributes?.[SERVICE_ATTRIBUTE];
        if (typeof inherited !== "string") return;
        service = inherited;
        span.setAttribute(SERVICE_ATTRIBUTE, service);
      }
      if (service === processService) return;
      let resource = byService.get(service);
      if (!resource) {
        // One object per service: exporters group spans by resource.
        resource = span.resource.merge(fromAttributes({ "service.name": service }));
        byService.set(service, resource);
      }
      (span as { resource: SdkSpan["resource"] }).resource = resource;
    },
    onEnd() {},
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/**
 * The exports of a CommonJS package imported with import(): Node names each of them, but the
 * service bundle `pnpm start` runs (esbuild) gives only `default`, which both have.
 */
function commonJs<T extends object>(mod: T): T {
  const all = (mod as { default?: unknown }).default;
  return all && typeof all === "object" ? (all as T) : mod;
}

/** Webhook, chat and ntfy URLs carry tokens in their path or query: a span keeps only the origin. */
function redactUrl(request: { origin: string; path: string }): Record<string, string> {
  const hidden = request.path && request.path !== "/" ? "/[redacted]" : "/";
  return { "url.full": `${request.origin}${hidden}`, "url.path": hidden, "url.query": "" };
}

/** `trace_id` and `span_id` of the active span, for every log line written inside one. */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
