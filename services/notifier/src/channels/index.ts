import type { Channel } from "@mirror/contracts";
import { ConfigError } from "@mirror/kit";
import { parseTemplate } from "../template.js";
import { appriseChannel } from "./apprise.js";
import { textRenderer } from "./chat.js";
import { discordChannel } from "./discord.js";
import { emailChannel } from "./email.js";
import { gotifyChannel } from "./gotify.js";
import { ntfyChannel } from "./ntfy.js";
import { slackChannel } from "./slack.js";
import { telegramChannel } from "./telegram.js";
import type { ChannelSender } from "./types.js";
import { webhookChannel } from "./webhook.js";

export interface ChannelDeps {
  /** Called once per channel and missing template field (it renders empty). */
  onMissingField(channel: string, path: string): void;
}

/** Template overrides are parsed at start-up: a broken one is a config error naming its key path. */
function checkTemplates(configs: readonly Channel[]): void {
  const problems: string[] = [];
  configs.forEach((cfg, i) => {
    for (const part of ["title", "body"] as const) {
      const src = cfg.template?.[part];
      if (src === undefined) continue;
      try {
        parseTemplate(src);
      } catch (err) {
        problems.push(`notifier.channels.${i}.template.${part}: ${(err as Error).message}`);
      }
    }
  });
  if (problems.length) throw new ConfigError(process.env.MIRROR_CONFIG ?? "mirror.yaml", problems);
}

/** Builds a sender for every configured channel, by name. */
export function buildChannels(configs: readonly Channel[], deps: ChannelDeps): Map<string, ChannelSender> {
  checkTemplates(configs);
  const out = new Map<string, ChannelSender>();
  for (const cfg of configs) out.set(cfg.name, build(cfg, deps));
  return out;
}

function build(cfg: Channel, deps: ChannelDeps): ChannelSender {
  const text = textRenderer(cfg, deps.onMissingField);
  switch (cfg.type) {
    case "webhook":
      return webhookChannel(cfg);
    case "ntfy":
      return ntfyChannel(cfg, text);
    case "slack":
      return slackChannel(cfg, text);
    case "discord":
      return discordChannel(cfg, text);
    case "telegram":
      return telegramChannel(cfg, text);
    case "gotify":
      return gotifyChannel(cfg, text);
    case "email":
      return emailChannel(cfg, text);
    case "apprise":
      return appriseChannel(cfg, text);
  }
}

export type { ChannelSender, SendContext, SendResult } from "./types.js";
