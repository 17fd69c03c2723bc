import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { MirrorConfig } from "@mirror/contracts";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import { parseConfig } from "./config.js";

/** Config paths every service reads once at start (the bus connection and identity, the store connection, the HTTP listener). */
const ALWAYS_RESTART = ["bus", "store", "http"];

/** The dotted paths (e.g. `tracker.port`) whose values differ between two configs. */
export function changedPaths(before: MirrorConfig, after: MirrorConfig, paths: readonly string[]): string[] {
  const at = (c: unknown, path: string) => path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), c);
  return paths.filter((p) => JSON.stringify(at(before, p)) !== JSON.stringify(at(after, p)));
}

export interface ReloadDeps {
  file: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  registry: Registry;
  /** Config paths this service reads once at start (besides bus and http): a change is logged as needing a restart. */
  restartOnly: readonly string[];
  /** Checks what the schema cannot (e.g. conditions): throws a ConfigError listing every problem with its key path. */
  validate?(next: MirrorConfig): void;
  /**
   * Applies a valid config atomically; returns what changed, for the log. Builds what can fail
   * before it swaps anything: a throw counts as a rejected reload and the old config stays.
   */
  apply(next: MirrorConfig, previous: MirrorConfig): Record<string, unknown>;
}

/**
 * Hot reload of mirror.yaml for one service: on a change of the file (or SIGHUP) the whole file is parsed and
 * validated; a valid one is applied, an invalid one (a half-written save, a bad key) is
 * logged with every key path and counted, and the service keeps running on the old config
 * until the next change.
 */
export class ConfigReloader {
  private current: MirrorConfig;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string | null = null;
  private readonly counter: Counter<"result">;
  private readonly onHup = () => this.reload("SIGHUP");

  constructor(
    initial: MirrorConfig,
    private readonly deps: ReloadDeps,
  ) {
    this.current = initial;
    const name = "mirror_config_reload_total";
    this.counter =
      (deps.registry.getSingleMetric(name) as Counter<"result"> | undefined) ??
      new Counter({ name, help: "Config reloads, by result (ok, error, unchanged)", labelNames: ["result"], registers: [deps.registry] });
    try {
      this.lastText = readFileSync(deps.file, "utf8");
    } catch {
      this.lastText = null;
    }
  }

  /**
   * Watches the file's folder (editors save by renaming a new file over the old one) and SIGHUP,
   * when the running config is the file's: a service given its config another way (a test, an
   * embedding) is not driven by a file it never read. Returns whether it watches.
   */
  start(): boolean {
    let source: MirrorConfig | null = null;
    try {
      source = this.lastText === null ? null : parseConfig(this.lastText, this.deps.env, this.deps.file);
    } catch {
      source = null;
    }
    if (source === null || JSON.stringify(source) !== JSON.stringify(this.current)) return false;
    const name = basename(this.deps.file);
    try {
      this.watcher = watch(dirname(this.deps.file), (_event, changed) => {
        if (changed !== null && changed !== name) return;
        clearTimeout(this.timer);
        // Saves come as several events; settle first.
        this.timer = setTimeout(() => this.reload("file changed"), 100);
      });
      this.watcher.on("error", (err) => this.deps.log.warn({ err: err.message, file: this.deps.file }, "config file no longer watched"));
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, file: this.deps.file }, "config file not watched; SIGHUP still reloads");
    }
    process.on("SIGHUP", this.onHup);
    return true;
  }

  /** The config running now: the one given at start, or the last one applied. */
  get config(): MirrorConfig {
    return this.current;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    process.off("SIGHUP", this.onHup);
  }

  /** Reads, validates and applies the file; never throws. */
  reload(why: string): boolean {
    let text: string;
    try {
      text = readFileSync(this.deps.file, "utf8");
    } catch (err) {
      return this.reject(why, [`cannot read ${this.deps.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    if (text === this.lastText && why !== "SIGHUP") {
      this.counter.inc({ result: "unchanged" });
      return true;
    }
    let next: MirrorConfig;
    try {
      next = parseConfig(text, this.deps.env, this.deps.file);
      this.deps.validate?.(next);
    } catch (err) {
      // A later save with the same text as this bad one is still looked at.
      this.lastText = null;
      return this.reject(why, (err as { problems?: string[] }).problems ?? [(err as Error).message]);
    }
    const restart = changedPaths(this.current, next, [...this.deps.restartOnly, ...ALWAYS_RESTART]);
    const sections = changedPaths(this.current, next, [...new Set([...Object.keys(this.current), ...Object.keys(next)])]);
    let changed: Record<string, unknown>;
    try {
      changed = this.deps.apply(next, this.current);
    } catch (err) {
      this.lastText = null;
      return this.reject(why, (err as { problems?: string[] }).problems ?? [`not applied: ${(err as Error).message}`]);
    }
    this.lastText = text;
    this.current = next;
    this.counter.inc({ result: "ok" });
    this.deps.log.info({ file: this.deps.file, why, sections, ...changed, ...(restart.length ? { needsRestart: restart } : {}) }, "config reloaded");
    if (restart.length) this.deps.log.warn({ keys: restart }, "changed settings apply only after a restart");
    return true;
  }

  private reject(why: string, problems: string[]): false {
    this.counter.inc({ result: "error" });
    this.deps.log.error({ file: this.deps.file, why, problems }, "config reload rejected; still running on the previous config");
    return false;
  }
}
