import { endpoint } from "@mirror/bus";
import { MODEL_QUEUE, MODEL_SERVICE, modelTriage } from "@mirror/contracts";
import type { ServiceSpec } from "@mirror/kit";
import { ADAPTER, MODEL, triage } from "./triage.js";

/** model-rules: the offline default model adapter. No network, answers from tables and templates. */
export const modelRules: ServiceSpec = {
  name: "model-rules",
  description: "Offline model adapter: severity table and templates, no network",
  port: (c) => c.model.port,
  start: async (ctx) => {
    const describeCtx = () => ({ now: ctx.clock.now(), home: ctx.config.model.home ?? ctx.env.HOME });
    return {
      serviceName: MODEL_SERVICE,
      queue: MODEL_QUEUE,
      metadata: { adapter: ADAPTER, model: MODEL },
      endpoints: [endpoint(modelTriage, async ({ loop }) => triage(loop, describeCtx()))],
    };
  },
};
