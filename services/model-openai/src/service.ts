import { chatModelService } from "@mirror/model-kit";
import { OpenAIChat } from "./openai-chat.js";

/** model-openai: any OpenAI-compatible chat-completions server, from `model.openai`. */
export const modelOpenAI = chatModelService({
  name: "model-openai",
  description: "Model adapter for OpenAI-compatible chat-completions servers",
  section: "openai",
  defaultPort: 9106,
  example: 'model: { openai: { baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2" } }',
  client: (cfg) => new OpenAIChat(cfg),
});
