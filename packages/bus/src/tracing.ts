import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { MsgHdrs } from "@nats-io/nats-core";

const tracer = () => trace.getTracer("mirror-bus");

/** Injects the active trace context into a plain header map. */
export function injectTrace(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers);
}

/**
 * The active trace context as W3C headers (`traceparent`, `tracestate`), to store beside work
 * that runs later outside the handler (an outbox entry, a delivery); undefined outside a trace.
 */
export function traceCarrier(): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length ? carrier : undefined;
}

/** Runs `fn` inside the trace context kept by traceCarrier(), so what it publishes or calls joins that trace. */
export function withTraceContext<T>(carrier: Record<string, string> | undefined, fn: () => T): T {
  if (!carrier) return fn();
  return context.with(propagation.extract(context.active(), carrier), fn);
}

/** Runs `fn` in a consumer span whose parent is the trace context carried by the message. */
export async function withConsumerSpan<T>(
  name: string,
  headers: MsgHdrs | Record<string, string> | undefined,
  attrs: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const carrier: Record<string, string> = {};
  if (headers && typeof (headers as MsgHdrs).get === "function")
    for (const [k, v] of headers as MsgHdrs) carrier[k.toLowerCase()] = v[0] ?? "";
  else if (headers) for (const [k, v] of Object.entries(headers)) carrier[k.toLowerCase()] = v;
  const parent = propagation.extract(context.active(), carrier);
  return tracer().startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes: attrs }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Runs `fn` in a producer span. */
export async function withProducerSpan<T>(
  name: string,
  attrs: Record<string, string | number>,
  fn: () => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind: SpanKind.PRODUCER, attributes: attrs }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
