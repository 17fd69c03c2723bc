import { AnthropicModelConfig, defineManifest } from "@mirror/contracts";

/** model-anthropic: the Anthropic Messages API as the model adapter (opt-in). */
export const manifest = defineManifest({
  name: "model-anthropic",
  port: 9107,
  description: "Model adapter for the Anthropic Messages API",
  config: { section: "model.anthropic", schema: AnthropicModelConfig },
  serves: ["mirror.model.>"],
  startsByDefault: false,
});
