import type { MirrorConfig } from "@mirror/contracts";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { configPath, configSecrets } from "./config.js";
import { addLogSecrets } from "./logger.js";
import { ConfigReloader } from "./reload.js";

/** What a service says about reloading mirror.yaml: how to take a new config, and what only a restart changes. */
export interface ConfigWatchOptions {
  /**
   * Config paths this service reads once at start (e.g. `history.port`, `history.timeZone`),
   * besides `bus`, `store` and `http`, which every service reads once: a change to one is
   * logged as needing a restart and otherwise ignored.
   */
  restartOnly?: readonly string[];
  /** Checks what the schema cannot (a condition, a template); throws a ConfigError naming every key path. */
  validate?(next: MirrorConfig): void;
  /**
   * Takes a valid new config at once, keeping state and in-flight work; returns what changed,
   * for the log. It builds whatever can fail before swapping anything in: a throw rejects the
   * reload like an invalid file does.
   */
  apply(next: MirrorConfig, previous: MirrorConfig): Record<string, unknown>;
}

/** A service's live config: the one running now, and a reload on demand (SIGHUP and file changes call it too). */
export interface ConfigWatch {
  /** The config running now (the start config until a reload is applied). */
  readonly config: MirrorConfig;
  /** Whether mirror.yaml and SIGHUP drive reloads (only when the running config is that file's). */
  readonly watching: boolean;
  /** Reads, validates and applies the file now; false when it was rejected (or there is no file). Never throws. */
  reload(why?: string): boolean;
  stop(): void;
}

/** What watchConfig() needs of a service context. */
export interface ConfigWatchHost {
  config: MirrorConfig;
  env: NodeJS.ProcessEnv;
  log: Logger;
  registry: Registry;
}

/**
 * Hot reload of mirror.yaml for one service, wired once: the file's folder is watched (so a
 * save by rename is seen) and SIGHUP, the whole file is parsed and validated, a valid one is
 * handed to `apply` and logged with what changed and what needs a restart, an invalid one is
 * logged with every key path and counted (`mirror_config_reload_total{result}`), and the
 * service keeps the old config until the next change. Without a config file, or when the
 * running config is not that file's (a test, an embedding), nothing is watched and reload() is false.
 */
export function watchConfig(host: ConfigWatchHost, opts: ConfigWatchOptions): ConfigWatch {
  const file = configPath(host.env);
  const inert: ConfigWatch = { config: host.config, watching: false, reload: () => false, stop: () => undefined };
  if (!file) return inert;
  const reloader = new ConfigReloader(host.config, {
    file,
    env: host.env,
    log: host.log,
    registry: host.registry,
    restartOnly: opts.restartOnly ?? [],
    validate: opts.validate,
    apply: (next, previous) => {
      // The new config's secrets (a new key, a rotated secretFile) are blanked in the logs from now on, the apply's own lines included.
      addLogSecrets(host.log, configSecrets(next));
      return opts.apply(next, previous);
    },
  });
  // A service given its config another way (a test, an embedding) is not driven by a file it never read.
  if (!reloader.start()) return inert;
  return {
    get config() {
      return reloader.config;
    },
    watching: true,
    reload: (why = "asked") => reloader.reload(why),
    stop: () => reloader.stop(),
  };
}
