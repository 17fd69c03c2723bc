import type { Channel } from "@mirror/contracts";
import type { Message } from "../message.js";
import { clip } from "../text.js";
import type { TextRenderer } from "./chat.js";
import { sendHttp } from "./http.js";
import type { ChannelSender } from "./types.js";

type TelegramConfig = Extract<Channel, { type: "telegram" }>;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Bot API sendMessage with HTML parse mode (only <b> is ours; the rest is escaped), ≤ 4096 characters. */
export function telegramRequest(cfg: TelegramConfig, msg: Message, text: TextRenderer) {
  const { title, body } = text(msg);
  const payload: Record<string, unknown> = {
    chat_id: cfg.chatId,
    text: `<b>${esc(clip(title, 256))}</b>\n${esc(clip(body, 3_700))}`,
    parse_mode: "HTML",
    link_preview_options: { is_disabled: true },
  };
  if (cfg.messageThreadId !== undefined) payload.message_thread_id = cfg.messageThreadId;
  const base = cfg.apiUrl.replace(/\/$/, "");
  return {
    url: `${base}/bot${cfg.botToken}/sendMessage`,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    timeoutMs: cfg.timeout,
  };
}

export function telegramChannel(cfg: TelegramConfig, text: TextRenderer): ChannelSender {
  return {
    name: cfg.name,
    type: cfg.type,
    timeoutMs: cfg.timeout,
    send: (msg, ctx) => sendHttp({ ...telegramRequest(cfg, msg, text), signal: ctx.signal }),
  };
}
