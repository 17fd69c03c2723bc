import {
  entityKey,
  type MaintenanceAddRequest,
  type MaintenanceInfo,
  MaintenanceWindow,
  parseDuration,
} from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Detector } from "./detector.js";
import { badRequest, conflict, LoopCommandError } from "./errors.js";
import type { LoopStore } from "./store.js";

/** Redis hash of the windows made at run time: name -> JSON of the window and who made it. */

type Stored = MaintenanceWindow & { createdBy: string };

/**
 * Maintenance windows made at run time (`mirror maintenance add|list|end`), kept in the
 * detector's store so every replica and a restart see them, beside the windows of
 * loops.maintenance. Adding or ending one wakes what it matches, so its loops turn
 * suppressed (or open again, and notified) now rather than at their next status.
 */
export class MaintenanceApi {
  private runtime: Stored[] = [];

  constructor(private readonly deps: { store: LoopStore; detector: Detector; clock: Clock }) {}

  /** Loads the runtime windows from the store into the detector (start, each tick, after a change). */
  async refresh(): Promise<void> {
    const saved = await this.deps.store.runtimeWindows();
    const windows: Stored[] = [];
    for (const text of Object.values(saved)) {
      try {
        const { createdBy, ...raw } = JSON.parse(text) as Stored;
        const w = MaintenanceWindow.safeParse(raw);
        if (w.success) windows.push({ ...w.data, createdBy: String(createdBy ?? "operator") });
      } catch {
        // An unreadable entry is skipped, not fatal.
      }
    }
    this.runtime = windows;
    this.deps.detector.setRuntimeWindows(windows);
  }

  async add(req: MaintenanceAddRequest): Promise<MaintenanceInfo> {
    const now = this.deps.clock.now();
    if (this.deps.detector.configWindows().some((w) => w.name === req.name))
      throw conflict(`mirror.yaml already has a maintenance window "${req.name}"`);
    let window: unknown;
    try {
      if (req.cron !== undefined) {
        if (req.for !== undefined || req.until !== undefined)
          throw new Error("a recurring window takes --cron and --duration, not --for or --until");
        window = { name: req.name, match: req.match, cron: req.cron, duration: req.duration, tz: req.tz };
      } else {
        if ((req.for === undefined) === (req.until === undefined))
          throw new Error("a one-off window needs exactly one of --for or --until");
        const end = req.until !== undefined ? Date.parse(req.until) : now + parseDuration(req.for as string);
        if (end <= now) throw new Error("the window would end in the past");
        window = {
          name: req.name,
          match: req.match,
          start: new Date(now).toISOString(),
          end: new Date(end).toISOString(),
        };
      }
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    const parsed = MaintenanceWindow.safeParse(window);
    if (!parsed.success)
      throw badRequest(parsed.error.issues.map((i) => `${i.path.join(".") || "window"}: ${i.message}`).join("; "));
    const stored: Stored = { ...parsed.data, createdBy: req.by };
    const added = await this.deps.store.addRuntimeWindow(req.name, JSON.stringify(stored));
    if (!added) throw conflict(`a maintenance window "${req.name}" exists; end it first`);
    await this.refresh();
    await this.wake(stored, now);
    return this.info(stored, "runtime", now);
  }

  async end(name: string): Promise<MaintenanceInfo> {
    const now = this.deps.clock.now();
    await this.refresh();
    const w = this.runtime.find((x) => x.name === name);
    if (!w) {
      const inConfig = this.deps.detector.configWindows().some((x) => x.name === name);
      throw new LoopCommandError(
        "MIRROR_ERR_MAINTENANCE_NOT_FOUND",
        inConfig ? `"${name}" is a window of mirror.yaml: remove it there` : `no runtime maintenance window "${name}"`,
      );
    }
    await this.deps.store.removeRuntimeWindow(name);
    await this.refresh();
    await this.wake(w, now);
    return this.info(w, "runtime", now);
  }

  async list(): Promise<MaintenanceInfo[]> {
    await this.refresh();
    const now = this.deps.clock.now();
    return [
      ...this.deps.detector.configWindows().map((w) => this.info({ ...w, createdBy: "" }, "config", now)),
      ...this.runtime.map((w) => this.info(w, "runtime", now)),
    ];
  }

  private info(w: Stored, source: "config" | "runtime", now: number): MaintenanceInfo {
    const on = this.deps.detector.maintenance.openAt(now).find((o) => o.name === w.name);
    return {
      name: w.name,
      source,
      match: w.match,
      ...(w.start ? { start: w.start, end: w.end } : {}),
      ...(w.cron ? { cron: w.cron, duration: w.duration, ...(w.tz ? { tz: w.tz } : {}) } : {}),
      createdBy: source === "runtime" ? w.createdBy : null,
      active: on !== undefined,
      activeUntil: on ? new Date(on.end).toISOString() : null,
    };
  }

  /** Looks again, now, at what a window matches (every entity when it matches by kind only). */
  private async wake(w: MaintenanceWindow, now: number): Promise<void> {
    const keys = [
      ...(w.match.check ?? []).map((service) => entityKey({ type: "service", service })),
      ...(w.match.repo ?? []).map((repo) => entityKey({ type: "repo", repo })),
    ];
    const all = keys.length ? keys : await this.deps.store.entityKeys();
    await this.deps.store.wakeNow(all, now);
  }
}
