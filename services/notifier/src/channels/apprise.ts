import type { Channel } from "@mirror/contracts";
import type { Message } from "../message.js";
import type { TextRenderer } from "./chat.js";
import { sendHttp } from "./http.js";
import type { ChannelSender } from "./types.js";

type AppriseConfig = Extract<Channel, { type: "apprise" }>;

/** Apprise API: POST /notify/<key> (stateful) or /notify/ with `urls` (stateless); type info|success|warning|failure. */
export function appriseRequest(cfg: AppriseConfig, msg: Message, text: TextRenderer) {
  const { title, body } = text(msg);
  const type = msg.kind === "digest" ? "info" : msg.status === "resolved" ? "success" : msg.alerts.some((a) => a.labels.severity === "critical") ? "failure" : "warning";
  const payload: Record<string, unknown> = { title, body: body || title, type, format: "text" };
  if (cfg.tag) payload.tag = cfg.tag;
  if (!cfg.key && cfg.urls.length) payload.urls = cfg.urls.join(", ");
  const base = cfg.url.replace(/\/$/, "");
  const url = cfg.key ? `${base}/notify/${encodeURIComponent(cfg.key)}` : `${base}/notify/`;
  return { url, headers: { "content-type": "application/json" }, body: JSON.stringify(payload), timeoutMs: cfg.timeout };
}

export function appriseChannel(cfg: AppriseConfig, text: TextRenderer): ChannelSender {
  return { name: cfg.name, type: cfg.type, timeoutMs: cfg.timeout, send: (msg, ctx) => sendHttp({ ...appriseRequest(cfg, msg, text), signal: ctx.signal }) };
}
