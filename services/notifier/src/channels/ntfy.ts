import type { Channel, Severity } from "@mirror/contracts";
import type { Message } from "../message.js";
import { clickUrl, topSeverity } from "../text.js";
import { headerText, type TextRenderer } from "./chat.js";
import { sendHttp } from "./http.js";
import type { ChannelSender } from "./types.js";

type NtfyConfig = Extract<Channel, { type: "ntfy" }>;

/** ntfy priorities 1 (min) … 5 (urgent). */
const PRIORITY: Record<Severity, number> = { info: 2, low: 2, medium: 3, high: 4, critical: 5 };

/** A publish to the topic URL: the message as the body, title, priority, tags and click link as headers. */
export function ntfyRequest(cfg: NtfyConfig, msg: Message, text: TextRenderer) {
  const { title, body } = text(msg);
  const tags = [
    msg.status === "resolved" ? "white_check_mark" : msg.kind === "digest" ? "memo" : "rotating_light",
    ...cfg.tags,
  ];
  const headers: Record<string, string> = {
    "content-type": "text/plain; charset=utf-8",
    title: headerText(title),
    priority: String(msg.status === "resolved" ? 2 : PRIORITY[topSeverity(msg)]),
    tags: tags.join(","),
    click: clickUrl(msg),
  };
  if (cfg.token) headers.authorization = `Bearer ${cfg.token}`;
  else if (cfg.user)
    headers.authorization = `Basic ${Buffer.from(`${cfg.user}:${cfg.password ?? ""}`).toString("base64")}`;
  return { url: cfg.url, headers, body: body || title, timeoutMs: cfg.timeout };
}

export function ntfyChannel(cfg: NtfyConfig, text: TextRenderer): ChannelSender {
  return {
    name: cfg.name,
    type: cfg.type,
    timeoutMs: cfg.timeout,
    send: (msg, ctx) => sendHttp({ ...ntfyRequest(cfg, msg, text), signal: ctx.signal }),
  };
}
