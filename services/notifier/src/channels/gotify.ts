import type { Channel, Severity } from "@mirror/contracts";
import type { Message } from "../message.js";
import { clickUrl, topSeverity } from "../text.js";
import type { TextRenderer } from "./chat.js";
import { sendHttp } from "./http.js";
import type { ChannelSender } from "./types.js";

type GotifyConfig = Extract<Channel, { type: "gotify" }>;

/** Gotify priorities 0…10; clients show 8 and above as urgent. */
const PRIORITY: Record<Severity, number> = { info: 2, low: 3, medium: 5, high: 7, critical: 9 };

/** POST /message with the app token in X-Gotify-Key; markdown body and a click link in extras. */
export function gotifyRequest(cfg: GotifyConfig, msg: Message, text: TextRenderer) {
  const { title, body } = text(msg);
  const payload = {
    title,
    message: body || title,
    priority: msg.status === "resolved" ? 2 : PRIORITY[topSeverity(msg)],
    extras: {
      "client::display": { contentType: "text/plain" },
      "client::notification": { click: { url: clickUrl(msg) } },
    },
  };
  const url = `${cfg.url.replace(/\/$/, "")}/message`;
  return {
    url,
    headers: { "content-type": "application/json", "x-gotify-key": cfg.token },
    body: JSON.stringify(payload),
    timeoutMs: cfg.timeout,
  };
}

export function gotifyChannel(cfg: GotifyConfig, text: TextRenderer): ChannelSender {
  return {
    name: cfg.name,
    type: cfg.type,
    timeoutMs: cfg.timeout,
    send: (msg, ctx) => sendHttp({ ...gotifyRequest(cfg, msg, text), signal: ctx.signal }),
  };
}
