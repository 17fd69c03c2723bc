import { defineManifest, ModelConfig } from "@mirror/contracts";

/** model-rules: the offline default model adapter (tables and templates, no network). */
export const manifest = defineManifest({
  name: "model-rules",
  port: 9105,
  description: "Offline model adapter: severity table and templates, no network",
  config: { section: "model", schema: ModelConfig },
  serves: ["mirror.model.>"],
  // `pnpm start` runs the desk (console, history, model-rules: what the owner reads and asks) in one process.
  process: "desk",
});
