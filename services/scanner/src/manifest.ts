import { defineManifest, ScannerConfig } from "@mirror/contracts";

/** The scanner: walks the configured roots and publishes one snapshot per git repository. */
export const manifest = defineManifest({
  name: "scanner",
  port: 9101,
  description: "Scans git repositories and publishes their state",
  config: { section: "scanner", schema: ScannerConfig },
  publishes: ["mirror.repo.>"],
  serves: ["mirror.scan.>"],
  // `pnpm start` runs the intake (scanner, service-tracker: what comes in) in one process.
  process: "intake",
});
