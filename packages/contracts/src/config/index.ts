import { z } from "zod";
import { BusConfig, HttpConfig, StoreConfig } from "./bus.js";
import { ConsoleConfig } from "./console.js";
import { HistoryConfig } from "./history.js";
import { LoopsConfig } from "./loops.js";
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
  })
  .transform((c) =>
    c.notifier.externalURL ? c : { ...c, notifier: { ...c.notifier, externalURL: c.console.publicUrl } },
  );
export type MirrorConfig = z.infer<typeof MirrorConfig>;
export type MirrorConfigInput = z.input<typeof MirrorConfig>;
