import { defineManifest, HistoryConfig } from "@mirror/contracts";

/** History: uptime, response times, incidents and the maintenance trend, from status and loop events. */
export const manifest = defineManifest({
  name: "history",
  port: 9108,
  description: "Keeps uptime, response times, incidents and the loop trend",
  config: { section: "history", schema: HistoryConfig },
  consumes: [
    { durable: "history-status", filter: "mirror.service.status.>" },
    { durable: "history-loops", filter: "mirror.loop.>" },
  ],
  /** The loop-detector's maintenance windows: results inside one are marked maintenance, not counted as downtime. */
  requests: ["mirror.loops.maintenance.list"],
  serves: ["mirror.history.>"],
  // `pnpm start` runs the desk (console, history, model-rules: what the owner reads and asks) in one process.
  process: "desk",
});
