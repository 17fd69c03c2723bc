import { MODEL_QUEUE, MODEL_SERVICE } from "@mirror/contracts";
import { ConfigError, configPath, type ServiceSpec } from "@mirror/kit";
import { ChatAdapter, ModelMetrics, modelEndpoints, safeOrigin } from "@mirror/model-kit";
import { OpenAIChat } from "./openai-chat.js";

/** model-openai: any OpenAI-compatible chat-completions server, from `model.openai`. */
export const modelOpenAI: ServiceSpec = {
  name: "model-openai",
  description: "Model adapter for OpenAI-compatible chat-completions servers",
  port: (c) => c.model.openai?.port ?? 9106,
  start: async (ctx) => {
    const cfg = ctx.config.model.openai;
    if (!cfg) {
      throw new ConfigError(configPath(ctx.env) ?? "mirror.yaml", [
        'model.openai: required to run model-openai, e.g. model: { openai: { baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2" } }',
      ]);
    }
    const client = new OpenAIChat(cfg);
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
