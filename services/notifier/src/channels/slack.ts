import type { Channel } from "@mirror/contracts";
import type { Message } from "../message.js";
import { clip } from "../text.js";
import type { TextRenderer } from "./chat.js";
import { sendHttp } from "./http.js";
import type { ChannelSender } from "./types.js";

type SlackConfig = Extract<Channel, { type: "slack" }>;

/** Slack escapes only these three in message text. */
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** An incoming-webhook post: `text` in mrkdwn (title in bold), optional channel and username. */
export function slackRequest(cfg: SlackConfig, msg: Message, text: TextRenderer) {
  const { title, body } = text(msg);
  const payload: Record<string, unknown> = { text: clip(`*${esc(title)}*\n${esc(body)}`, 39_000) };
  if (cfg.channel) payload.channel = cfg.channel;
  if (cfg.username) payload.username = cfg.username;
  return {
    url: cfg.url,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    timeoutMs: cfg.timeout,
  };
}

export function slackChannel(cfg: SlackConfig, text: TextRenderer): ChannelSender {
  return {
    name: cfg.name,
    type: cfg.type,
    timeoutMs: cfg.timeout,
    send: (msg, ctx) => sendHttp({ ...slackRequest(cfg, msg, text), signal: ctx.signal }),
  };
}
