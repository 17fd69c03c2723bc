import { defineManifest, TrackerConfig } from "@mirror/contracts";

/** The service-tracker: checks, heartbeats and mesh discovery over `$SRV`, published as service status. */
export const manifest = defineManifest({
  name: "service-tracker",
  port: 9102,
  description: "Checks services and heartbeats and publishes their status",
  config: { section: "tracker", schema: TrackerConfig },
  publishes: ["mirror.service.>", "mirror.heartbeat.>"],
  consumes: [{ durable: "service-tracker-heartbeats", filter: "mirror.heartbeat.>" }],
  requests: ["$SRV.>"],
  serves: ["mirror.tracker.>"],
  // `pnpm start` runs the intake (scanner, service-tracker: what comes in) in one process.
  process: "intake",
});
