import { z } from "zod";
import { BusConfig, HttpConfig, StoreConfig } from "./bus.js";
import { ConsoleConfig } from "./console.js";
import { HistoryConfig } from "./history.js";
import { LoopsConfig, MaintenanceWindow } from "./loops.js";
import { ModelConfig } from "./model.js";
import { NotifierConfig } from "./notifier.js";
import { ScannerConfig } from "./scanner.js";
import { TrackerConfig } from "./tracker.js";

export * from "./bus.js";
export * from "./console.js";
export * from "./history.js";
export * from "./status-pages.js";
export * from "./loops.js";
export * from "./model.js";
export * from "./notifier.js";
export * from "./scanner.js";
export * from "./tracker.js";
export { Port } from "./port.js";

/** The whole mirror.yaml; `notifier.externalURL` defaults to `console.publicUrl`, so notification links open the console. */
export const MirrorConfig = z
  .strictObject({
    bus: BusConfig,
    store: StoreConfig,
    http: HttpConfig,
    scanner: ScannerConfig,
    tracker: TrackerConfig,
    loops: LoopsConfig,
    notifier: NotifierConfig,
    model: ModelConfig,
    console: ConsoleConfig,
    history: HistoryConfig,
    /**
     * Maintenance windows for the whole mesh, the same as `loops.maintenance` (both lists apply; names are unique
     * across them): matching loops are in status maintenance, not notified, while one is on.
     */
    maintenance: z
      .array(MaintenanceWindow)
      .default([])
      .describe("Maintenance windows (the same as loops.maintenance; both apply, names unique across the two)."),
  })
  .superRefine((c, ctx) => {
    const taken = new Set(c.loops.maintenance.map((w) => w.name));
    c.maintenance.forEach((w, i) => {
      if (taken.has(w.name))
        ctx.addIssue({
          code: "custom",
          path: ["maintenance", i, "name"],
          message: `"${w.name}" is already a window's name`,
        });
      taken.add(w.name);
    });
  })
  .transform(({ maintenance, ...c }) => {
    const loops = maintenance.length ? { ...c.loops, maintenance: [...c.loops.maintenance, ...maintenance] } : c.loops;
    const notifier = c.notifier.externalURL ? c.notifier : { ...c.notifier, externalURL: c.console.publicUrl };
    return { ...c, loops, notifier };
  });
export type MirrorConfig = z.infer<typeof MirrorConfig>;
export type MirrorConfigInput = z.input<typeof MirrorConfig>;
