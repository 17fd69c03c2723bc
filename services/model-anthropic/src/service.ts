import { MODEL_QUEUE, MODEL_SERVICE } from "@mirror/contracts";
import { ConfigError, configPath, type ServiceSpec } from "@mirror/kit";
import { ChatAdapter, ModelMetrics, modelEndpoints, safeOrigin } from "@mirror/model-kit";
import { AnthropicChat } from "./anthropic-chat.js";

/** model-anthropic: the Anthropic Messages API, from `model.anthropic`. */
export const modelAnthropic: ServiceSpec = {
  name: "model-anthropic",
  description: "Model adapter for the Anthropic Messages API",
  port: (c) => c.model.anthropic?.port ?? 9107,
  start: async (ctx) => {
    const cfg = ctx.config.model.anthropic;
    if (!cfg) {
      throw new ConfigError(configPath(ctx.env) ?? "mirror.yaml", [
        'model.anthropic: required to run model-anthropic, e.g. model: { anthropic: { model: "claude-haiku-4-5", apiKey: <your key; ENV references work> } }',
      ]);
    }
    const client = new AnthropicChat(cfg);
    const adapter = new ChatAdapter({ client, limits: cfg, metrics: new ModelMetrics(ctx.registry), log: ctx.log, now: () => ctx.clock.now() });
    ctx.log.info({ baseUrl: safeOrigin(cfg.baseUrl), model: cfg.model, maxConcurrency: cfg.maxConcurrency }, "serving model requests");
    return {
      serviceName: MODEL_SERVICE,
      queue: MODEL_QUEUE,
      metadata: { adapter: client.adapter, model: cfg.model, server: safeOrigin(cfg.baseUrl) },
      endpoints: modelEndpoints(adapter),
    };
  },
};
