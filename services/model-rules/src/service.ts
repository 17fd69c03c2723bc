import { MODEL_QUEUE, MODEL_SERVICE } from "@mirror/contracts";
import type { ServiceSpec } from "@mirror/kit";
import { instrument, type ModelAnswerer, ModelMetrics, modelEndpoints } from "@mirror/model-kit";
import { ask } from "./ask.js";
import { digest } from "./digest.js";
import { ADAPTER, MODEL, triage } from "./triage.js";

/** model-rules: the offline default model adapter. No network, answers from tables and templates. */
export const modelRules: ServiceSpec = {
  name: "model-rules",
  description: "Offline model adapter: severity table and templates, no network",
  port: (c) => c.model.port,
  start: async (ctx) => {
    // The only live setting is where `~` points; the answers are tables and templates in the code.
    const live = ctx.watchConfig({
      restartOnly: ["model.port"],
      apply: (next, previous) => (next.model.home === previous.model.home ? {} : { home: next.model.home ?? null }),
    });
    const describeCtx = () => ({ now: ctx.clock.now(), home: live.config.model.home ?? ctx.env.HOME });
    const metrics = new ModelMetrics(ctx.registry);
    const measured = <T>(endpoint: string, f: () => T) =>
      instrument({ metrics, log: ctx.log, adapter: ADAPTER, endpoint }, async () => ({ value: f() }));
    const answerer: ModelAnswerer = {
      triage: async (req) => measured("triage", () => triage(req.loop, describeCtx())),
      digest: async (req) => measured("digest", () => digest(req, describeCtx())),
      ask: async (req) => measured("ask", () => ask(req, describeCtx())),
    };
    return {
      serviceName: MODEL_SERVICE,
      queue: MODEL_QUEUE,
      metadata: { adapter: ADAPTER, model: MODEL },
      endpoints: modelEndpoints(answerer),
    };
  },
};
