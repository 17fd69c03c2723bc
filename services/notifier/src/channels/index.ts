import type { Channel } from "@mirror/contracts";
import type { ChannelSender } from "./types.js";
import { webhookChannel } from "./webhook.js";

/** Builds a sender for every configured channel, by name. */
export function buildChannels(configs: readonly Channel[]): Map<string, ChannelSender> {
  const out = new Map<string, ChannelSender>();
  for (const cfg of configs) out.set(cfg.name, build(cfg));
  return out;
}

function build(cfg: Channel): ChannelSender {
  switch (cfg.type) {
    case "webhook":
      return webhookChannel(cfg);
    default:
      throw new Error(`channel type ${cfg.type} is not implemented yet`);
  }
}

export type { ChannelSender, SendContext, SendResult } from "./types.js";
