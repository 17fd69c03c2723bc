import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Why a scan could not see something; the `reason` label of mirror_scanner_errors_total. */
export type ErrorReason =
  | "root_missing"
  | "root_not_directory"
  | "permission_denied"
  | "unreadable"
  | "bad_gitfile"
  | "git"
  | "untrusted"
  | "publish"
  | "untracked_capped"
  | "fetch"
  | "fetch_refused"
  | "watch";

export class ScannerMetrics {
  readonly repos: Gauge;
  readonly scanDuration: Histogram;
  readonly errors: Counter<"reason">;
  readonly published: Counter<"event">;
  readonly repoScans: Counter<"mode">;

  constructor(registry: Registry) {
    this.repos = new Gauge({
      name: "mirror_scanner_repos",
      help: "Repositories found at the last scan",
      registers: [registry],
    });
    this.scanDuration = new Histogram({
      name: "mirror_scanner_scan_duration_seconds",
      help: "Duration of one scan of every root",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    this.errors = new Counter({
      name: "mirror_scanner_errors_total",
      help: "Things a scan could not read, by reason",
      labelNames: ["reason"],
      registers: [registry],
    });
    this.published = new Counter({
      name: "mirror_scanner_published_total",
      help: "Events published, by event",
      labelNames: ["event"],
      registers: [registry],
    });
    this.repoScans = new Counter({
      name: "mirror_scanner_repo_scans_total",
      help: "Per-repo scans: git = ran git, unchanged = skipped because nothing on disk changed",
      labelNames: ["mode"],
      registers: [registry],
    });
  }
}
