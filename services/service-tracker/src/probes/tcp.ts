import { connect } from "node:net";
import type { z } from "zod";
import type { TcpCheck } from "@mirror/contracts";
import type { Condition } from "../conditions.js";
import { describeError } from "./errors.js";
import type { ProbeResult } from "./result.js";

export type TcpCheckConfig = z.infer<typeof TcpCheck>;

/** Opens a TCP connection and closes it at once: reachable when the handshake completes in time. */
export function probeTcp(
  cfg: TcpCheckConfig,
  conditions: readonly Condition[],
  now: () => number,
): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: cfg.host, port: cfg.port });
    let done = false;
    const finish = (result: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish({
        reachable: false,
        latencyMs: performance.now() - started,
        error: `timed out after ${cfg.timeout}ms`,
        failed: [],
        cert: null,
        details: {},
      });
    }, cfg.timeout);
    socket.once("connect", () => {
      const latencyMs = performance.now() - started;
      const failed = conditions.map((c) => c.test({ latencyMs, now: now() })).filter((f) => f !== null);
      finish({ reachable: true, latencyMs, error: null, failed, cert: null, details: {} });
    });
    socket.once("error", (err) => {
      finish({
        reachable: false,
        latencyMs: performance.now() - started,
        error: describeError(err, cfg.host),
        failed: [],
        cert: null,
        details: {},
      });
    });
  });
}
