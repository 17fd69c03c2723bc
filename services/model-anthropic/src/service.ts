import { chatModelService } from "@mirror/model-kit";
import { AnthropicChat } from "./anthropic-chat.js";

/** model-anthropic: the Anthropic Messages API, from `model.anthropic`. */
export const modelAnthropic = chatModelService({
  name: "model-anthropic",
  description: "Model adapter for the Anthropic Messages API",
  section: "anthropic",
  defaultPort: 9107,
  example: 'model: { anthropic: { model: "claude-haiku-4-5", apiKey: <your key; ENV references work> } }',
  client: (cfg) => new AnthropicChat(cfg),
});
