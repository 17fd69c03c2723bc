import { z } from "zod";
import { duration } from "../duration.js";
import { Port } from "./port.js";

/** An HTTP(S) check. `conditions` on the check decide up/degraded; unreachable is down. */
export const HttpCheck = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "an http check url must be http:// or https://" }).describe("The http:// or https:// URL the check requests."),
  method: z.string().default("GET"),
  headers: z.record(z.string(), z.string()).default({}).describe("Extra HTTP headers on the check's request."),
  body: z.string().optional(),
  timeout: duration("10s").describe("Deadline of one request, body included; past it the probe is down."),
  followRedirects: z.boolean().default(true),
  tlsVerify: z.boolean().default(true),
  /** Read at most this many bytes of the body (the rest is discarded). Default: tracker.maxBody. */
  maxBody: z.number().int().min(0).optional(),
});

export const TcpCheck = z.strictObject({
  host: z.string().min(1).describe("Host name or address to connect to."),
  port: z.number().int().min(1).max(65_535).describe("TCP port to connect to on `host` (not an HTTP port of the mesh)."),
  timeout: duration("5s").describe("Deadline of the TCP connect; past it the probe is down."),
});

/** A job that must check in: every `every`, or at each `cron` time (in `tz`), within `grace`. */
export const HeartbeatCheck = z
  .strictObject({
    every: duration("0s").optional(),
    cron: z.string().optional(),
    tz: z.string().optional(),
    grace: duration("1m"),
  })
  .superRefine((hb, ctx) => {
    const hasEvery = hb.every !== undefined && hb.every > 0;
    if (hasEvery === (hb.cron !== undefined)) ctx.addIssue({ code: "custom", message: "a heartbeat needs exactly one of `every` (a duration > 0) or `cron`" });
    if (hb.tz !== undefined && hb.cron === undefined) ctx.addIssue({ code: "custom", path: ["tz"], message: "`tz` only applies to `cron`" });
  });

export const CheckConfig = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a check name is 1-64 letters, digits, '-' or '_'").describe("Unique check name: the tracked service's name in loops, metrics and the console."),
    interval: duration("30s").describe("How often the check probes (http and tcp checks)."),
    http: HttpCheck.optional(),
    tcp: TcpCheck.optional(),
    heartbeat: HeartbeatCheck.optional(),
    /** Expressions over the result, e.g. `status == 200`, `latency < 500ms`, `body.status == ok`. */
    conditions: z.array(z.string()).default([]),
    dependsOn: z.array(z.string()).default([]),
    /** Consecutive failed probes before an up check turns down/degraded. Default: tracker.failureThreshold. */
    failureThreshold: z.number().int().min(1).max(100).optional(),
    /** Consecutive good probes before a failing check turns up. Default: tracker.successThreshold. */
    successThreshold: z.number().int().min(1).max(100).optional(),
  })
  .superRefine((c, ctx) => {
    const kinds = [c.http, c.tcp, c.heartbeat].filter((k) => k !== undefined).length;
    if (kinds !== 1) ctx.addIssue({ code: "custom", message: `check "${c.name}" needs exactly one of http, tcp or heartbeat` });
    if (c.interval < 100) ctx.addIssue({ code: "custom", path: ["interval"], message: "interval must be at least 100ms" });
  });
export type CheckConfig = z.infer<typeof CheckConfig>;

/** Discovery of the mesh's own services through the NATS Services API ($SRV.PING/INFO/STATS). */
export const MeshConfig = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** How long to collect replies to one round of $SRV requests. Default: min(2s, discoverEvery / 2). */
    replyWindow: duration("0s"),
    /** A member that missed this many rounds in a row is down. */
    missedRounds: z.number().int().min(1).max(100).default(2),
    /** A member down for this long is forgotten (its status turns unknown). */
    forgetAfter: duration("7d"),
  })
  .prefault({});

export const TrackerConfig = z
  .strictObject({
    port: Port.default(9102),
    checks: z.array(CheckConfig).default([]),
    discoverEvery: duration("15s"),
    mesh: MeshConfig,
    /** Probes running at once, across all checks. */
    concurrency: z.number().int().min(1).max(10_000).default(64),
    failureThreshold: z.number().int().min(1).max(100).default(2),
    successThreshold: z.number().int().min(1).max(100).default(1),
    /** Most bytes of a response body read for conditions. */
    maxBody: z.number().int().min(0).default(1024 * 1024),
    /** An unchanged status is published again at least this often (level-triggered keep-alive). */
    resyncEvery: duration("60s"),
    /**
     * Checks due within this window run together on one wake-up: a check may start up to
     * min(coalesce, interval / 10) before its planned time, never after it, and its interval
     * still counts from the planned time (no drift). `0s` runs every check exactly on time.
     */
    coalesce: duration("1s"),
  })
  .prefault({})
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.checks.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: "custom", path: ["checks", i, "name"], message: `duplicate check name "${c.name}"` });
      seen.add(c.name);
    });
  });
export type TrackerConfig = z.infer<typeof TrackerConfig>;
