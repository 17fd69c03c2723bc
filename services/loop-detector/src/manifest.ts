import { defineManifest, LoopsConfig } from "@mirror/contracts";

/** The loop-detector: turns snapshots and statuses into open loops (and rebuilds from the stream). */
export const manifest = defineManifest({
  name: "loop-detector",
  port: 9103,
  description: "Opens, updates and closes loops from repo snapshots and service status",
  config: { section: "loops", schema: LoopsConfig },
  publishes: ["mirror.loop.>"],
  consumes: [
    { durable: "loop-detector-repo", filter: "mirror.repo.snapshot.>" },
    { durable: "loop-detector-repo-gone", filter: "mirror.repo.gone.>" },
    { durable: "loop-detector-service", filter: "mirror.service.status.>" },
  ],
  requests: ["mirror.model.>"],
  serves: ["mirror.loops.>"],
  readsHistory: true,
  // `pnpm start` runs the alert path (loop-detector, notifier) in one process.
  process: "alerts",
});
