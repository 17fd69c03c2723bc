import { isIP } from "node:net";
import { connect } from "node:tls";
import type { z } from "zod";
import type { TlsCheck } from "@mirror/contracts";
import { type Condition, failing } from "../conditions.js";
import { describeError } from "./errors.js";
import { type ProbeResult, unreachable, withDeadline } from "./result.js";

export type TlsCheckConfig = z.infer<typeof TlsCheck>;

/** A TLS handshake: reachable when it completes (and verifies, unless tlsVerify is off); the certificate feeds cert.expiring. */
export function probeTls(
  cfg: TlsCheckConfig,
  conditions: readonly Condition[],
  now: () => number,
): Promise<ProbeResult> {
  const started = performance.now();
  const servername = cfg.servername ?? (isIP(cfg.host) ? undefined : cfg.host);
  return withDeadline(cfg.timeout, started, (settle) => {
    const socket = connect({ host: cfg.host, port: cfg.port, servername, rejectUnauthorized: cfg.tlsVerify });
    socket.once("secureConnect", () => {
      const latencyMs = performance.now() - started;
      const peer = socket.getPeerCertificate();
      const expiresAt = peer?.valid_to ? Date.parse(peer.valid_to) : Number.NaN;
      if (Number.isNaN(expiresAt)) {
        settle(unreachable(started, "the server sent no certificate"));
        return;
      }
      const issuerName = peer.issuer ? (peer.issuer.O ?? peer.issuer.CN ?? null) : null;
      const issuer = Array.isArray(issuerName) ? issuerName.join(", ") : issuerName;
      const failed = failing(conditions, { latencyMs, certExpiresAt: expiresAt, now: now() });
      const subject = peer.subject?.CN;
      settle({
        reachable: true,
        latencyMs,
        error: null,
        failed,
        cert: { expiresAt: new Date(expiresAt).toISOString(), issuer },
        details: {
          protocol: socket.getProtocol(),
          ...(subject ? { subject: Array.isArray(subject) ? subject.join(", ") : subject } : {}),
          authorized: socket.authorized,
        },
      });
    });
    socket.once("error", (err) => settle(unreachable(started, describeError(err, cfg.host))));
    socket.once("close", () => settle(unreachable(started, "connection closed before the TLS handshake finished")));
    return () => socket.destroy();
  });
}
