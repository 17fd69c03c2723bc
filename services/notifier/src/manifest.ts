import { defineManifest, NotifierConfig } from "@mirror/contracts";

/** The notifier: routes loop events to channels, with grouping, silences and quiet hours. */
export const manifest = defineManifest({
  name: "notifier",
  port: 9104,
  description: "Sends loop notifications to channels",
  config: { section: "notifier", schema: NotifierConfig },
  publishes: ["mirror.notify.>"],
  consumes: [{ durable: "notifier", filter: "mirror.loop.>" }],
  requests: ["mirror.model.>", "mirror.loops.list"],
  serves: ["mirror.notifier.>"],
  // `pnpm start` runs the alert path (loop-detector, notifier) in one process.
  process: "alerts",
});
