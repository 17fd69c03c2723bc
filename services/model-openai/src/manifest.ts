import { defineManifest, OpenAIModelConfig } from "@mirror/contracts";

/** model-openai: an OpenAI-compatible chat-completions server as the model adapter (opt-in). */
export const manifest = defineManifest({
  name: "model-openai",
  port: 9106,
  description: "Model adapter for OpenAI-compatible chat-completions servers",
  config: { section: "model.openai", schema: OpenAIModelConfig },
  serves: ["mirror.model.>"],
  startsByDefault: false,
});
