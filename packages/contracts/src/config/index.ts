import { z } from "zod";
import { BusConfig, HttpConfig, StoreConfig } from "./bus.js";
import { LoopsConfig } from "./loops.js";
import { ModelConfig } from "./model.js";
import { NotifierConfig } from "./notifier.js";
import { ScannerConfig } from "./scanner.js";
import { TrackerConfig } from "./tracker.js";

export * from "./bus.js";
export * from "./loops.js";
export * from "./model.js";
export * from "./notifier.js";
export * from "./scanner.js";
export * from "./tracker.js";
export { Port } from "./port.js";

/** The whole mirror.yaml. */
export const MirrorConfig = z.strictObject({
  bus: BusConfig,
  store: StoreConfig,
  http: HttpConfig,
  scanner: ScannerConfig,
  tracker: TrackerConfig,
  loops: LoopsConfig,
  notifier: NotifierConfig,
  model: ModelConfig,
});
export type MirrorConfig = z.infer<typeof MirrorConfig>;
export type MirrorConfigInput = z.input<typeof MirrorConfig>;
