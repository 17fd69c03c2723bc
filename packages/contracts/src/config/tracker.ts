import { z } from "zod";
import { duration } from "../duration.js";
import { Port } from "./port.js";

export const HttpCheck = z.strictObject({
  url: z.url(),
  method: z.string().default("GET"),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  timeout: duration("10s"),
  followRedirects: z.boolean().default(true),
  tlsVerify: z.boolean().default(true),
});

export const TcpCheck = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65_535), timeout: duration("5s") });

export const HeartbeatCheck = z.strictObject({
  every: duration("0s").optional(),
  cron: z.string().optional(),
  tz: z.string().optional(),
  grace: duration("1m"),
});

export const CheckConfig = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a check name is 1-64 letters, digits, '-' or '_'"),
  interval: duration("30s"),
  http: HttpCheck.optional(),
  tcp: TcpCheck.optional(),
  heartbeat: HeartbeatCheck.optional(),
  conditions: z.array(z.string()).default([]),
  dependsOn: z.array(z.string()).default([]),
});
export type CheckConfig = z.infer<typeof CheckConfig>;

export const TrackerConfig = z
  .strictObject({
    port: Port.default(9102),
    checks: z.array(CheckConfig).default([]),
    discoverEvery: duration("15s"),
    concurrency: z.number().int().min(1).max(10_000).default(64),
  })
  .prefault({});
