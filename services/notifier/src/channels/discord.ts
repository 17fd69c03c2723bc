import type { Channel } from "@mirror/contracts";
import type { Message } from "../message.js";
import { clickUrl, clip } from "../text.js";
import type { TextRenderer } from "./chat.js";
import { sendHttp } from "./http.js";
import type { ChannelSender } from "./types.js";

type DiscordConfig = Extract<Channel, { type: "discord" }>;

const COLOR = { firing: 0xe74c3c, resolved: 0x2ecc71, digest: 0x3498db };

/** A webhook execute: one embed (title ≤ 256, description ≤ 4096), mentions disabled. */
export function discordRequest(cfg: DiscordConfig, msg: Message, text: TextRenderer) {
  const { title, body } = text(msg);
  const payload: Record<string, unknown> = {
    embeds: [
      {
        title: clip(title, 256),
        description: clip(body, 4096),
        color: msg.kind === "digest" ? COLOR.digest : COLOR[msg.status],
        url: clickUrl(msg),
      },
    ],
    allowed_mentions: { parse: [] },
  };
  if (cfg.username) payload.username = cfg.username;
  return {
    url: cfg.url,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    timeoutMs: cfg.timeout,
  };
}

export function discordChannel(cfg: DiscordConfig, text: TextRenderer): ChannelSender {
  return {
    name: cfg.name,
    type: cfg.type,
    timeoutMs: cfg.timeout,
    send: (msg, ctx) => sendHttp({ ...discordRequest(cfg, msg, text), signal: ctx.signal }),
  };
}
