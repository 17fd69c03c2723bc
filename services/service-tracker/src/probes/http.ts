import type { TLSSocket } from "node:tls";
import type { z } from "zod";
import type { HttpCheck } from "@mirror/contracts";
import { Agent, buildConnector, type Dispatcher, interceptors, request } from "undici";
import type { Condition, Observation } from "../conditions.js";
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
            if (!err && socket && options.protocol === "https:") this.remember(`${options.hostname}:${options.port || 443}`, socket as TLSSocket);
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
    this.certs.set(origin, { expiresAt: Date.parse(cert.valid_to), issuer: Array.isArray(issuer) ? issuer.join(", ") : issuer });
  }

  /** Probes once: never throws; an error becomes an unreachable result with a reason. */
  async probe(cfg: HttpCheckConfig, conditions: readonly Condition[]): Promise<ProbeResult> {
    const url = new URL(cfg.url);
    const maxBody = cfg.maxBody ?? this.opts.maxBody;
    const needsBody = conditions.some((c) => c.needsBody);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), cfg.timeout);
    const started = performance.now();
    try {
      const res = await request(url, {
        method: cfg.method.toUpperCase() as Dispatcher.HttpMethod,
        headers: cfg.headers,
        body: cfg.body,
        dispatcher: this.dispatcher(cfg.tlsVerify, cfg.followRedirects),
        signal: abort.signal,
        headersTimeout: cfg.timeout,
        bodyTimeout: cfg.timeout,
      });
      let body: string | undefined;
      let truncated = false;
      if (needsBody) ({ body, truncated } = await readBody(res.body, maxBody));
      else await res.body.dump({ limit: Math.min(maxBody, 64 * 1024) }).catch(() => undefined);
      const latencyMs = performance.now() - started;
      const cert = url.protocol === "https:" ? (this.certs.get(`${url.hostname}:${url.port || 443}`) ?? null) : null;
      const obs: Observation = { latencyMs, status: res.statusCode, headers: res.headers, body, bodyTruncated: truncated, certExpiresAt: cert?.expiresAt ?? null, now: this.opts.now() };
      const failed = conditions.map((c) => c.test(obs)).filter((f) => f !== null);
      return {
        reachable: true,
        latencyMs,
        error: null,
        failed,
        cert: cert ? { expiresAt: new Date(cert.expiresAt).toISOString(), issuer: cert.issuer } : null,
        details: { status: res.statusCode, ...(truncated ? { bodyTruncated: true } : {}) },
      };
    } catch (err) {
      const latencyMs = performance.now() - started;
      const reason = abort.signal.aborted ? `timed out after ${cfg.timeout}ms` : describeError(err, url.hostname);
      return { reachable: false, latencyMs, error: reason, failed: [], cert: null, details: {} };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.agents.map((a) => a.close()));
  }
}

/** Reads at most `max` bytes, then drops the connection rather than draining a huge or endless body. */
async function readBody(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<{ body: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = max - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      body.destroy();
      return { body: Buffer.concat(chunks).toString("utf8"), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { body: Buffer.concat(chunks).toString("utf8"), truncated: false };
}
