import { ConsoleConfig, defineManifest } from "@mirror/contracts";

/** The console: the owner's web page; reads and acts through the owning services' endpoints. */
export const manifest = defineManifest({
  name: "console",
  port: 9100,
  description: "The owner's web console",
  config: { section: "console", schema: ConsoleConfig },
  consumes: [{ durable: "console-services", filter: "mirror.service.status.>", options: { deliverPolicy: "new" } }],
  // The live page's loop and delivery feeds: subscribed only while a page watches (LiveFeeds).
  watches: ["mirror.loop.>", "mirror.notify.>"],
  requests: [
    "mirror.loops.list",
    "mirror.loops.get",
    "mirror.loops.ack",
    "mirror.loops.snooze",
    "mirror.loops.close",
    "mirror.loops.reopen",
    "mirror.scan.now",
    "mirror.scan.repos",
    "mirror.tracker.checks.list",
    "mirror.notifier.silence.list",
    "mirror.notifier.silence.add",
    "mirror.notifier.silence.expire",
    "mirror.notifier.deliveries",
    "mirror.loops.maintenance.list",
    "mirror.loops.maintenance.add",
    "mirror.loops.maintenance.end",
    "mirror.model.ask",
    "mirror.history.check",
    "mirror.history.status",
    "mirror.history.trend",
    "mirror.history.repo",
  ],
  serves: ["mirror.console.>"],
  // `pnpm start` runs the desk (console, history, model-rules: what the owner reads and asks) in one process.
  process: "desk",
});
