import type { TLSSocket } from "node:tls";
import type { z } from "zod";
import type { HttpCheck } from "@mirror/contracts";
import { Agent, buildConnector, type Dispatcher, interceptors } from "undici";
import type { Condition, FailedCondition, Observation } from "../conditions.js";
import { describeError } from "./errors.js";
import type { ProbeResult } from "./result.js";

export type HttpCheckConfig = z.infer<typeof HttpCheck>;

/** A TLS certificate as seen on the last new connection to an origin. */
export interface SeenCert {
  expiresAt: number;
  issuer: string | null;
}

/**
 * Runs HTTP probes over shared keep-alive agents (undici `request`: `fetch` costs several
 * times more CPU per call). One agent per TLS-verify / redirect combination, so thousands of
 * checks share a handful of connection pools. Certificates are captured once per connection.
 */
export class HttpProber {
  private readonly dispatchers = new Map<string, Dispatcher>();
  private readonly agents: Agent[] = [];
  private readonly certs = new Map<string, SeenCert>();

  constructor(private readonly opts: { maxBody: number; now: () => number }) {}

  private dispatcher(tlsVerify: boolean, follow: boolean): Dispatcher {
    const key = `${tlsVerify}:${follow}`;
    let d = this.dispatchers.get(key);
    if (!d) {
      const base = buildConnector({ rejectUnauthorized: tlsVerify, timeout: 30_000 });
      const agent = new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 120_000,
        connect: (options, cb) =>
          base(options, (err, socket) => {
            if (!err && socket && options.protocol === "https:")
              this.remember(`${options.hostname}:${options.port || 443}`, socket as TLSSocket);
            (cb as (e: Error | null, s: unknown) => void)(err, socket);
          }),
      });
      this.agents.push(agent);
      d = follow ? agent.compose(interceptors.redirect({ maxRedirections: 5 })) : agent;
      this.dispatchers.set(key, d);
    }
    return d;
  }

  private remember(origin: string, socket: TLSSocket): void {
    const cert = socket.getPeerCertificate?.();
    if (!cert?.valid_to) return;
    const issuer = cert.issuer ? (cert.issuer.O ?? cert.issuer.CN ?? null) : null;
    this.certs.set(origin, {
      expiresAt: Date.parse(cert.valid_to),
      issuer: Array.isArray(issuer) ? issuer.join(", ") : issuer,
    });
  }

  /** Builds a check's request once: every probe of it reuses the options, dispatcher and conditions. */
  prepare(cfg: HttpCheckConfig, conditions: readonly Condition[]): HttpTarget {
    const url = new URL(cfg.url);
    const https = url.protocol === "https:";
    return {
      dispatcher: this.dispatcher(cfg.tlsVerify, cfg.followRedirects),
      options: {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: cfg.method.toUpperCase() as Dispatcher.HttpMethod,
        headers: cfg.headers,
        body: cfg.body ?? null,
        headersTimeout: cfg.timeout,
        bodyTimeout: cfg.timeout,
      },
      host: url.hostname,
      certKey: https ? `${url.hostname}:${url.port || 443}` : null,
      timeout: cfg.timeout,
      maxBody: cfg.maxBody ?? this.opts.maxBody,
      needsBody: conditions.some((c) => c.needsBody),
      conditions,
    };
  }

  /** Probes once: never throws; an error becomes an unreachable result with a reason. */
  probe(target: HttpTarget): Promise<ProbeResult> {
    return new Promise((resolve) => {
      const probe = new Probe(target, this, resolve);
      target.dispatcher.dispatch(target.options, probe);
    });
  }

  /** The certificate last seen on a new connection to `certKey`'s origin. */
  certOf(certKey: string | null): SeenCert | null {
    return certKey === null ? null : (this.certs.get(certKey) ?? null);
  }

  now(): number {
    return this.opts.now();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.agents.map((a) => a.close()));
  }
}

/** A check's request, built once by `HttpProber.prepare`. */
export interface HttpTarget {
  readonly dispatcher: Dispatcher;
  readonly options: Dispatcher.DispatchOptions;
  readonly host: string;
  /** `host:port` of an https origin, where its certificate is remembered; null for http. */
  readonly certKey: string | null;
  readonly timeout: number;
  readonly maxBody: number;
  readonly needsBody: boolean;
  readonly conditions: readonly Condition[];
}

/** Most bytes read (then dropped) from a body no condition looks at, before the connection is dropped. */
const DUMP_LIMIT = 64 * 1024;

/**
 * One probe as an undici dispatch handler: status, headers and body arrive as callbacks, with
 * no response stream, async iterator or abort signal per probe. It settles once: on the end of
 * the response, on an error, on its timeout, or when a body outgrows what it may read (the
 * connection is then dropped rather than drained).
 */
class Probe implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private chunks: Buffer[] | null = null;
  private size = 0;
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly target: HttpTarget,
    private readonly prober: HttpProber,
    private readonly resolve: (r: ProbeResult) => void,
  ) {
    this.timer = setTimeout(() => this.timeout(), target.timeout);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new Error("probe finished"));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx informational: the real status follows
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    const t = this.target;
    if (!t.needsBody) {
      this.size += chunk.length;
      if (this.size > Math.min(t.maxBody, DUMP_LIMIT)) this.done(undefined, false, true);
      return;
    }
    const room = t.maxBody - this.size;
    if (chunk.length > room) {
      (this.chunks ??= []).push(chunk.subarray(0, room));
      this.size = t.maxBody;
      this.done(this.text(), true, true);
      return;
    }
    (this.chunks ??= []).push(chunk);
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    if (!this.settled) this.done(this.target.needsBody ? this.text() : undefined, false, false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.settle({
      reachable: false,
      latencyMs: performance.now() - this.started,
      error: describeError(err, this.target.host),
      failed: [],
      cert: null,
      details: {},
    });
  }

  private timeout(): void {
    if (this.settled) return;
    this.settle({
      reachable: false,
      latencyMs: performance.now() - this.started,
      error: `timed out after ${this.target.timeout}ms`,
      failed: [],
      cert: null,
      details: {},
    });
    this.controller?.abort(new Error("probe timed out"));
  }

  private text(): string {
    const c = this.chunks;
    if (c === null) return "";
    return (c.length === 1 ? (c[0] as Buffer) : Buffer.concat(c)).toString("utf8");
  }

  /** A response was read (whole, or as much as may be read): evaluate the conditions. */
  private done(body: string | undefined, truncated: boolean, drop: boolean): void {
    const t = this.target;
    const latencyMs = performance.now() - this.started;
    const cert = this.prober.certOf(t.certKey);
    const obs: Observation = {
      latencyMs,
      status: this.status,
      headers: this.headers,
      body,
      bodyTruncated: truncated,
      certExpiresAt: cert?.expiresAt ?? null,
      now: this.prober.now(),
    };
    const failed: FailedCondition[] = [];
    for (const c of t.conditions) {
      const f = c.test(obs);
      if (f !== null) failed.push(f);
    }
    this.settle({
      reachable: true,
      latencyMs,
      error: null,
      failed,
      cert: cert ? { expiresAt: new Date(cert.expiresAt).toISOString(), issuer: cert.issuer } : null,
      details: truncated ? { status: this.status, bodyTruncated: true } : { status: this.status },
    });
    if (drop) this.controller?.abort(new Error("body not read further"));
  }

  private settle(r: ProbeResult): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.chunks = null;
    this.resolve(r);
  }
}
