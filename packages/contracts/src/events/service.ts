import { z } from "zod";
import { defineEvent } from "../event.js";
import { IsoTime } from "./common.js";

export const ServiceKind = z.enum([
  "http",
  "tcp",
  "heartbeat",
  "mesh",
  "dns",
  "tls",
  "redis",
  "postgres",
  "docker",
  "icmp",
  "domain",
]);
export const ServiceState = z.enum(["up", "down", "degraded", "unknown"]);

/**
 * The whole observed state of one tracked service (a check, a heartbeat, a mesh member).
 * Produced by: service-tracker. Consumed by: loop-detector.
 */
export const ServiceStatus = z.object({
  /** Check names are 1-64 characters; the bound keeps a hostile name out of loops (and loop events under max_payload). */
  name: z.string().min(1).max(256),
  kind: ServiceKind,
  state: ServiceState,
  observedAt: IsoTime,
  seq: z.number().int().nonnegative(),
  /** Since when the current state holds. */
  since: IsoTime,
  latencyMs: z.number().nonnegative().nullable().default(null),
  /** Why the state is not "up": the failed conditions or the error. */
  reason: z.string().nullable().default(null),
  failedConditions: z.array(z.object({ condition: z.string(), actual: z.string() })).default([]),
  /** Heartbeat checks: missed the expected check-in. */
  heartbeat: z
    .object({
      lastPingAt: IsoTime.nullable(),
      expectedBy: IsoTime.nullable(),
      missed: z.boolean(),
      failed: z.boolean().default(false),
    })
    .nullable()
    .default(null),
  cert: z
    .object({ expiresAt: IsoTime, issuer: z.string().nullable().default(null) })
    .nullable()
    .default(null),
  /** Domain checks: the registration's expiry as RDAP reports it (feeds `domain.expiring`). */
  domain: z
    .object({ name: z.string(), expiresAt: IsoTime, registrar: z.string().nullable().default(null) })
    .nullable()
    .optional(),
  /** Names of services this one depends on (for inhibition of dependent alerts). */
  dependsOn: z.array(z.string()).default([]),
  details: z.record(z.string(), z.unknown()).default({}),
  /**
   * The probe site whose tracker observed it (`tracker.site`); absent from trackers older than
   * probe sites, which counts as the hub site. A check's status is per site on the same subject.
   */
  site: z.string().min(1).max(64).optional(),
});
export type ServiceStatus = z.infer<typeof ServiceStatus>;

export const serviceStatus = defineEvent({
  type: "mirror.service.status.v1",
  prefix: "mirror.service.status",
  schema: ServiceStatus,
});

/** A check-in by a job. Produced by: any job (or the tracker's /ping). Consumed by: service-tracker. */
export const Heartbeat = z.object({
  name: z.string().min(1),
  kind: z.enum(["success", "start", "fail"]).default("success"),
  at: IsoTime,
  message: z.string().max(10_000).optional(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export const heartbeat = defineEvent({ type: "mirror.heartbeat.v1", prefix: "mirror.heartbeat", schema: Heartbeat });
