import type { FailedCondition } from "../conditions.js";

/** What one probe saw. Unreachable is down; reachable with failed conditions is degraded. */
export interface ProbeResult {
  reachable: boolean;
  latencyMs: number | null;
  /** Why it was unreachable. */
  error: string | null;
  failed: FailedCondition[];
  cert: { expiresAt: string; issuer: string | null } | null;
  details: Record<string, unknown>;
  /** domain checks: what RDAP says about the registration. */
  domain?: { name: string; expiresAt: string; registrar: string | null };
  /** The probe could not tell (e.g. RDAP has no expiration event): the status is unknown, not down. */
  unknown?: boolean;
}

/** A probe that did not get an answer it could use: down, with the reason. */
export function unreachable(started: number, error: string, details: Record<string, unknown> = {}): ProbeResult {
  return { reachable: false, latencyMs: performance.now() - started, error, failed: [], cert: null, details };
}

/**
 * Runs `work` with a deadline: the probe settles once, with work's result or a timeout, and
 * `onTimeout` releases what the work holds (a socket, a child process). Never rejects.
 */
export function withDeadline(
  timeout: number,
  started: number,
  work: (settle: (r: ProbeResult) => void) => (() => void) | undefined,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let release: (() => void) | undefined;
    const settle = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        release?.();
      } catch {
        // releasing is best effort
      }
      resolve(r);
    };
    const timer = setTimeout(() => settle(unreachable(started, `timed out after ${timeout}ms`)), timeout);
    try {
      release = work(settle);
      if (done) release?.();
    } catch (err) {
      settle(unreachable(started, (err as Error).message ?? String(err)));
    }
  });
}
