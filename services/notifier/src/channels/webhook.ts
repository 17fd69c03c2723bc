import { createHmac } from "node:crypto";
import type { Channel } from "@mirror/contracts";
import type { Message } from "../message.js";
import { sendHttp } from "./http.js";
import type { ChannelSender, SendContext } from "./types.js";

type WebhookConfig = Extract<Channel, { type: "webhook" }>;

/** The Alertmanager webhook v4 body, so existing receivers work unchanged. */
export function alertmanagerPayload(msg: Message, maxAlerts = 0) {
  const alerts = maxAlerts > 0 ? msg.alerts.slice(0, maxAlerts) : msg.alerts;
  return {
    version: "4",
    groupKey: msg.groupKey,
    truncatedAlerts: msg.alerts.length - alerts.length,
    status: msg.status,
    receiver: msg.receiver,
    groupLabels: msg.groupLabels,
    commonLabels: msg.commonLabels,
    commonAnnotations: msg.commonAnnotations,
    externalURL: msg.externalURL,
    alerts,
  };
}

/** The HMAC key of a Standard Webhooks secret: the base64 part of `whsec_…`, else the raw bytes. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

/** Standard Webhooks: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac("sha256", signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

export function webhookRequest(cfg: WebhookConfig, msg: Message, ctx: SendContext) {
  const body = JSON.stringify(alertmanagerPayload(msg, cfg.maxAlerts));
  const timestamp = Math.floor(ctx.sentAt / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "MirrorOS-notifier/0.1",
    "idempotency-key": ctx.id,
    "webhook-id": ctx.id,
    "webhook-timestamp": String(timestamp),
    ...cfg.headers,
  };
  if (cfg.secret) headers["webhook-signature"] = sign(cfg.secret, ctx.id, timestamp, body);
  return { url: cfg.url, headers, body, timeoutMs: cfg.timeout };
}

export function webhookChannel(cfg: WebhookConfig): ChannelSender {
  return {
    name: cfg.name,
    type: cfg.type,
    timeoutMs: cfg.timeout,
    send: (msg, ctx) => sendHttp({ ...webhookRequest(cfg, msg, ctx), signal: ctx.signal }),
  };
}
