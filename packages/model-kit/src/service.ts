import { type MirrorConfig, MODEL_QUEUE, MODEL_SERVICE, type ModelConfig } from "@mirror/contracts";
import { ConfigError, configPath, type ServiceSpec } from "@mirror/kit";
import { type AdapterLimits, ChatAdapter } from "./adapter.js";
import type { ChatClient } from "./chat.js";
import { modelEndpoints } from "./endpoints.js";
import { safeOrigin } from "./http.js";
import { ModelMetrics } from "./metrics.js";

/** What the shared wiring reads from a networked adapter's config section. */
interface ChatSectionConfig extends AdapterLimits {
  port: number;
  baseUrl: string;
  model: string;
}

/** The `model.<section>` keys that configure a networked adapter: "openai", "anthropic". */
export type ChatSection = {
  [K in keyof ModelConfig]-?: NonNullable<ModelConfig[K]> extends ChatSectionConfig ? K : never;
}[keyof ModelConfig];

export interface ChatServiceOptions<S extends ChatSection> {
  name: string;
  description: string;
  /** The section under `model` this adapter is configured by. */
  section: S;
  /** Port when the section is absent (the service then refuses to start, but the supervisor asks). */
  defaultPort: number;
  /** A minimal section, quoted in the error when the section is missing. */
  example: string;
  /** The wire-format client for this server. */
  client: (cfg: NonNullable<ModelConfig[S]>) => ChatClient;
}

/**
 * A model adapter served over the network by a chat model: reads `model.<section>`, answers the
 * model endpoints through a ChatAdapter under the shared Services API name and queue.
 */
export function chatModelService<S extends ChatSection>(opts: ChatServiceOptions<S>): ServiceSpec {
  const { name, description, section, defaultPort, example } = opts;
  return {
    name,
    description,
    port: (c) => c.model[section]?.port ?? defaultPort,
    start: async (ctx) => {
      const file = configPath(ctx.env) ?? "mirror.yaml";
      const sectionOf = (config: MirrorConfig) => {
        const cfg = config.model[section];
        if (!cfg) throw new ConfigError(file, [`model.${section}: required to run ${name}, e.g. ${example}`]);
        return cfg;
      };
      const cfg = sectionOf(ctx.config);
      const client = opts.client(cfg);
      const adapter = new ChatAdapter({
        client,
        limits: cfg,
        metrics: new ModelMetrics(ctx.registry),
        log: ctx.log,
        now: () => ctx.clock.now(),
      });
      ctx.watchConfig({
        restartOnly: [`model.${section}.port`],
        validate: (next) => void sectionOf(next),
        apply: (next, previous) => {
          const n = sectionOf(next);
          adapter.configure(opts.client(n), n);
          return { changed: changedKeys(previous.model[section], n), model: n.model, baseUrl: safeOrigin(n.baseUrl) };
        },
      });
      ctx.log.info(
        { baseUrl: safeOrigin(cfg.baseUrl), model: cfg.model, maxConcurrency: cfg.maxConcurrency },
        "serving model requests",
      );
      return {
        serviceName: MODEL_SERVICE,
        queue: MODEL_QUEUE,
        metadata: { adapter: client.adapter, model: cfg.model, server: safeOrigin(cfg.baseUrl) },
        endpoints: modelEndpoints(adapter),
      };
    },
  };
}

/** The keys of a section whose values differ (names only: a changed API key is named, never shown). */
function changedKeys(before: object | undefined, after: object): string[] {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .sort();
}
