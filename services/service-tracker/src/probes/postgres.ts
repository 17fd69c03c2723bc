import pg from "pg";
import type { z } from "zod";
import type { PostgresCheck } from "@mirror/contracts";
import { type Condition, failing } from "../conditions.js";
import { describeError } from "./errors.js";
import { type ProbeResult, unreachable, withDeadline } from "./result.js";

export type PostgresCheckConfig = z.infer<typeof PostgresCheck>;

/** SQLSTATEs a person can act on, named; any other error keeps the server's message and code. */
const STATES: Record<string, string> = {
  "28P01": "postgres refused the password",
  "28000": "postgres refused the login",
  "3D000": "the database does not exist",
  "57P03": "the server is starting up or shutting down",
  "53300": "too many connections",
};

/** Connects, authenticates and runs SELECT 1: up when one row with 1 comes back. */
export function probePostgres(
  cfg: PostgresCheckConfig,
  conditions: readonly Condition[],
  now: () => number,
): Promise<ProbeResult> {
  const started = performance.now();
  const host = new URL(cfg.url).hostname;
  return withDeadline(cfg.timeout, started, (settle) => {
    const client = new pg.Client({
      connectionString: withPassword(cfg.url, cfg.password),
      connectionTimeoutMillis: cfg.timeout,
      query_timeout: cfg.timeout,
      application_name: "mirror-service-tracker",
    });
    // A protocol error after settling must not become an uncaught 'error' event.
    client.on("error", () => undefined);
    client
      .connect()
      .then(() => client.query("SELECT 1 AS ok"))
      .then((res) => {
        const latencyMs = performance.now() - started;
        if (res.rows[0]?.ok !== 1) return settle(unreachable(started, "SELECT 1 did not return 1"));
        settle({
          reachable: true,
          latencyMs,
          error: null,
          failed: failing(conditions, { latencyMs, now: now() }),
          cert: null,
          details: {},
        });
      })
      .catch((err: { code?: string; message?: string }) => {
        const named = err.code ? STATES[err.code] : undefined;
        const reason = named
          ? `${named} (${err.code}: ${err.message})`
          : /^[0-9A-Z]{5}$/.test(err.code ?? "")
            ? `${err.message} (${err.code})`
            : describeError(err, host);
        settle(unreachable(started, reason));
      })
      .finally(() => void client.end().catch(() => undefined));
    return () => void client.end().catch(() => undefined);
  });
}

/** The URL with `password` in it: pg lets a connection string's fields win over separate options. */
function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}
