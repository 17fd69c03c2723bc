import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import type { MsgHdrs } from "@nats-io/nats-core";
import { headerOf } from "./headers.js";

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

type Carrier = MsgHdrs | Record<string, string>;

const isNatsHeaders = (c: Carrier): c is MsgHdrs => typeof (c as MsgHdrs).get === "function";

function carrierKeys(c: Carrier): string[] {
  return isNatsHeaders(c) ? c.keys() : Object.keys(c);
}

/**
 * Reads a message's trace headers where they are, only when a propagator asks (none does while
 * tracing is off): a copy of every header per message, made before, was garbage in every
 * consumer. Names match exactly, else without regard to case, as the copy's lower-cased keys did.
 */
const carrierGetter: TextMapGetter<Carrier> = {
  keys: carrierKeys,
  get(c, key) {
    const exact = isNatsHeaders(c) ? headerOf(c, key) : c[key];
    if (exact !== undefined) return exact;
    const lower = key.toLowerCase();
    const name = carrierKeys(c).find((k) => k.toLowerCase() === lower);
    return name === undefined ? undefined : isNatsHeaders(c) ? headerOf(c, name) : c[name];
  },
};

/** Runs `fn` in a consumer span whose parent is the trace context carried by the message. */
export async function withConsumerSpan<T>(
  name: string,
  headers: MsgHdrs | Record<string, string> | undefined,
  attrs: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = headers ? propagation.extract(context.active(), headers, carrierGetter) : context.active();
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
