import { type FSWatcher, lstatSync, readFileSync, realpathSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { MirrorConfig } from "@mirror/contracts";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { configSecretFiles, parseConfig } from "./config.js";

/**
 * In a watched folder's names: a change of any `..`-entry counts. A Kubernetes ConfigMap or Secret
 * volume updates its files (symlinks into `..data/`) by renaming a new `..data` into place.
 */
const DOT_ENTRIES = "..";

/** The file a symlink points to, or undefined for a plain file (or none). */
function linkTarget(file: string): string | undefined {
  try {
    return lstatSync(file).isSymbolicLink() ? realpathSync(file) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every reloader of the process behind one SIGHUP listener: `pnpm start --single` runs every
 * service in one process, and one listener each would pass Node's warning threshold.
 */
const hupHandlers = new Set<() => void>();
const onProcessHup = () => {
  for (const h of hupHandlers) h();
};

function onSighup(handler: () => void): void {
  if (hupHandlers.size === 0) process.on("SIGHUP", onProcessHup);
  hupHandlers.add(handler);
}

function offSighup(handler: () => void): void {
  if (!hupHandlers.delete(handler) || hupHandlers.size > 0) return;
  process.off("SIGHUP", onProcessHup);
}

/** Config paths every service reads once at start (the bus connection and identity, the store connection, the HTTP listener). */
const ALWAYS_RESTART = ["bus", "store", "http"];

/** The dotted paths (e.g. `tracker.port`) whose values differ between two configs. */
export function changedPaths(before: MirrorConfig, after: MirrorConfig, paths: readonly string[]): string[] {
  const at = (c: unknown, path: string) =>
    path
      .split(".")
      .reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), c);
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
  /** One watcher per folder: the config file's and each secretFile's. */
  private readonly watchers = new Map<string, FSWatcher>();
  /** The file names looked for in each watched folder (with DOT_ENTRIES: its `..` entries too). */
  private watched = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  /** A secretFile changed since the last reload: the config is read again even when its text is the same. */
  private secretChanged = false;
  private lastText: string | null = null;
  private readonly counter: Counter<"result">;
  /** 1 while the file in force is the last one saved, 0 after a rejected save (until a good one): what an alert watches. */
  private lastOk: Gauge | undefined;
  private readonly onHup = () => this.reload("SIGHUP");

  constructor(
    initial: MirrorConfig,
    private readonly deps: ReloadDeps,
  ) {
    this.current = initial;
    const name = "mirror_config_reload_total";
    this.counter =
      (deps.registry.getSingleMetric(name) as Counter<"result"> | undefined) ??
      new Counter({
        name,
        help: "Config reloads, by result (ok, error, unchanged)",
        labelNames: ["result"],
        registers: [deps.registry],
      });
    // Every result exported at 0 from start-up, so increase() sees the first one.
    for (const result of ["ok", "error", "unchanged"]) this.counter.inc({ result }, 0);
    try {
      this.lastText = readFileSync(deps.file, "utf8");
    } catch {
      this.lastText = null;
    }
  }

  /**
   * Watches the file's folder (editors save by renaming a new file over the old one), the folders
   * of the secretFiles it names (a rotated key is a change) and SIGHUP, when the running config is
   * the file's: a service given its config another way (a test, an embedding) is not driven by a
   * file it never read. Returns whether it watches.
   */
  start(): boolean {
    let source: MirrorConfig | null = null;
    try {
      source = this.lastText === null ? null : parseConfig(this.lastText, this.deps.env, this.deps.file);
    } catch {
      source = null;
    }
    if (source === null || JSON.stringify(source) !== JSON.stringify(this.current)) return false;
    this.watchFiles(source);
    const gauge = "mirror_config_last_reload_successful";
    this.lastOk =
      (this.deps.registry.getSingleMetric(gauge) as Gauge | undefined) ??
      new Gauge({
        name: gauge,
        help: "1 when the last change of mirror.yaml was applied (or nothing changed), 0 when it was rejected",
        registers: [this.deps.registry],
      });
    this.lastOk.set(1);
    onSighup(this.onHup);
    return true;
  }

  /** The config running now: the one given at start, or the last one applied. */
  get config(): MirrorConfig {
    return this.current;
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    offSighup(this.onHup);
  }

  /** Watches the folders of the config file and of the secretFiles `config` was read with. */
  private watchFiles(config: MirrorConfig): void {
    const want = new Map<string, Set<string>>();
    const add = (f: string, ...more: string[]) => {
      const names = want.get(dirname(f)) ?? new Set<string>();
      for (const n of [basename(f), ...more]) names.add(n);
      want.set(dirname(f), names);
    };
    for (const f of [this.deps.file, ...configSecretFiles(config)]) {
      const target = linkTarget(f);
      // A symlinked file changes where it points (its folder's `..` entries) or in the file it points to.
      if (target) add(target);
      add(f, ...(target ? [DOT_ENTRIES] : []));
    }
    for (const [dir, w] of this.watchers) {
      if (want.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    this.watched = want;
    for (const dir of want.keys()) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, (_event, changed) => this.changed(dir, changed));
        w.on("error", (err) => this.deps.log.warn({ err: err.message, dir }, "config folder no longer watched"));
        this.watchers.set(dir, w);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message, dir }, "config folder not watched; SIGHUP still reloads");
      }
    }
  }

  private changed(dir: string, name: string | null): void {
    const names = this.watched.get(dir);
    if (name !== null && !names?.has(name) && !(names?.has(DOT_ENTRIES) && name.startsWith(DOT_ENTRIES))) return;
    // Not plainly the config file: maybe a secretFile (or the symlinks behind one); read everything again.
    if (name !== null && !(dir === dirname(this.deps.file) && name === basename(this.deps.file)))
      this.secretChanged = true;
    clearTimeout(this.timer);
    // Saves come as several events; settle first.
    this.timer = setTimeout(() => this.reload(this.secretChanged ? "secret file changed" : "file changed"), 100);
  }

  /** Reads, validates and applies the file; never throws. */
  reload(why: string): boolean {
    let text: string;
    try {
      text = readFileSync(this.deps.file, "utf8");
    } catch (err) {
      return this.reject(why, [
        `cannot read ${this.deps.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      ]);
    }
    const forced = why === "SIGHUP" || this.secretChanged;
    this.secretChanged = false;
    if (text === this.lastText && !forced) {
      this.counter.inc({ result: "unchanged" });
      this.lastOk?.set(1);
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
    if (why !== "SIGHUP" && JSON.stringify(next) === JSON.stringify(this.current)) {
      // A secretFile touched or rewritten with the same content (or a symlink swapped to the same).
      this.lastText = text;
      if (this.watchers.size) this.watchFiles(next);
      this.counter.inc({ result: "unchanged" });
      this.lastOk?.set(1);
      return true;
    }
    const restart = changedPaths(this.current, next, [...this.deps.restartOnly, ...ALWAYS_RESTART]);
    const sections = changedPaths(this.current, next, [
      ...new Set([...Object.keys(this.current), ...Object.keys(next)]),
    ]);
    let changed: Record<string, unknown>;
    try {
      changed = this.deps.apply(next, this.current);
    } catch (err) {
      this.lastText = null;
      return this.reject(why, (err as { problems?: string[] }).problems ?? [`not applied: ${(err as Error).message}`]);
    }
    this.lastText = text;
    this.current = next;
    if (this.watchers.size) this.watchFiles(next);
    this.counter.inc({ result: "ok" });
    this.lastOk?.set(1);
    this.deps.log.info(
      { file: this.deps.file, why, sections, ...changed, ...(restart.length ? { needsRestart: restart } : {}) },
      "config reloaded",
    );
    if (restart.length) this.deps.log.warn({ keys: restart }, "changed settings apply only after a restart");
    return true;
  }

  private reject(why: string, problems: string[]): false {
    this.counter.inc({ result: "error" });
    this.lastOk?.set(0);
    this.deps.log.error(
      { file: this.deps.file, why, problems },
      "config reload rejected; still running on the previous config",
    );
    return false;
  }
}
