import { z } from "zod";
import { duration } from "../duration.js";
import { Port } from "./port.js";

export const WebhookChannel = z.strictObject({
  name: z.string().min(1),
  type: z.literal("webhook"),
  url: z.url(),
  headers: z.record(z.string(), z.string()).default({}),
  secret: z.string().optional(),
  timeout: duration("10s"),
});

export const Channel = z.discriminatedUnion("type", [WebhookChannel]);
export type Channel = z.infer<typeof Channel>;

export const NotifierConfig = z
  .strictObject({
    port: Port.default(9104),
    groupBy: z.array(z.string()).default(["alertname"]),
    groupWait: duration("30s"),
    groupInterval: duration("5m"),
    repeatInterval: duration("4h"),
    maxAttempts: z.number().int().min(1).max(100).default(8),
    channels: z.array(Channel).default([]),
  })
  .prefault({});
