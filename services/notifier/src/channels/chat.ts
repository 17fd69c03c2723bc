import type { Channel } from "@mirror/contracts";
import type { Message } from "../message.js";
import { renderText } from "../text.js";

/** Renders a message for one channel, reporting each missing template field once per channel. */
export type TextRenderer = (msg: Message) => { title: string; body: string };

export function textRenderer(cfg: Channel, onMissing: (channel: string, path: string) => void): TextRenderer {
  const reported = new Set<string>();
  const missing = (path: string) => {
    if (reported.has(path)) return;
    reported.add(path);
    onMissing(cfg.name, path);
  };
  return (msg) => renderText(msg, cfg.template, missing);
}

/** Header values must be ASCII on the wire; RFC 2047 encoded-words carry the rest (ntfy decodes them). */
export function headerText(text: string): string {
  const flat = text.replace(/[\r\n]+/g, " ");
  return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${Buffer.from(flat, "utf8").toString("base64")}?=`;
}
