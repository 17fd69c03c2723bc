import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { MirrorConfig, TrackerConfig } from "@mirror/contracts";
import { parseConfig } from "@mirror/kit";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";

/** Settings read once at start: a change to them is logged as needing a restart. */
const RESTART_ONLY: ((c: MirrorConfig) => [string, unknown])[] = [
  (c) => ["tracker.port", c.tracker.port],
  (c) => ["tracker.concurrency", c.tracker.concurrency],
  (c) => ["tracker.mesh", c.tracker.mesh],
  (c) => ["tracker.discoverEvery", c.tracker.discoverEvery],
  (c) => ["tracker.resyncEvery", c.tracker.resyncEvery],
  (c) => ["tracker.maxBody", c.tracker.maxBody],
  (c) => ["bus", (c as { bus?: unknown }).bus],
  (c) => ["http", (c as { http?: unknown }).http],
];

/** The keys whose values differ between two configs, of those that only a restart applies. */
export function restartNeeded(before: MirrorConfig, after: MirrorConfig): string[] {
  return RESTART_ONLY.filter((f) => JSON.stringify(f(before)[1]) !== JSON.stringify(f(after)[1])).map((f) => f(before)[0]);
}

export interface ReloadDeps {
  file: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  registry: Registry;
  /** Validates the tracker section as a whole (conditions, heartbeats): throws a ConfigError with every problem. */
  validate(tracker: TrackerConfig): void;
  /** Applies a valid config; returns what changed, for the log. */
  apply(next: MirrorConfig): Record<string, string[]>;
}

/**
 * Hot reload of mirror.yaml: on a change of the file (or SIGHUP) the whole file is parsed and
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

  /** Watches the file's folder (editors save by renaming a new file over the old one) and SIGHUP. */
  start(): void {
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
      this.deps.validate(next.tracker);
    } catch (err) {
      // A later save with the same text as this bad one is still looked at.
      this.lastText = null;
      return this.reject(why, (err as { problems?: string[] }).problems ?? [(err as Error).message]);
    }
    this.lastText = text;
    const restart = restartNeeded(this.current, next);
    const changed = this.deps.apply(next);
    this.current = next;
    this.counter.inc({ result: "ok" });
    this.deps.log.info({ file: this.deps.file, why, ...changed, ...(restart.length ? { needsRestart: restart } : {}) }, "config reloaded");
    if (restart.length) this.deps.log.warn({ keys: restart }, "changed settings apply only after a restart");
    return true;
  }

  private reject(why: string, problems: string[]): false {
    this.counter.inc({ result: "error" });
    this.deps.log.error({ file: this.deps.file, why, problems }, "config reload rejected; still running on the previous config");
    return false;
  }
}
