import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { State } from "./status.js";

const STATES: State[] = ["up", "degraded", "down", "unknown"];

const PROBE_KINDS = ["http", "tcp", "dns", "tls", "redis", "postgres", "docker", "icmp", "domain"] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/** The last probe of one check, read by the per-check gauges when they are scraped. */
interface LastProbe {
  success: number;
  seconds: number | null;
  certExpiry: number | null;
}

/**
 * Blackbox-exporter style probe metrics plus the tracker's own. A probe records into plain
 * fields (`recordProbe`); the per-check gauges and the probe counter are filled from them when
 * scraped, so thousands of probes a second do not each hash label sets.
 */
export class TrackerMetrics {
  readonly probeSuccess: Gauge<"check">;
  readonly probeDuration: Gauge<"check">;
  readonly state: Gauge<"check" | "state">;
  readonly heartbeatLast: Gauge<"check">;
  readonly certExpiry: Gauge<"check">;
  readonly probeSeconds: Histogram<"kind">;
  readonly probes: Counter<"kind" | "outcome">;
  readonly heartbeats: Counter<"source" | "kind" | "outcome">;
  readonly lag: Histogram;
  readonly published: Counter<"outcome">;
  readonly meshMembers: Gauge;
  readonly meshBadReplies: Counter<"kind">;
  private readonly last = new Map<string, LastProbe>();
  /** Probes counted since the last scrape, by kind and outcome. */
  private readonly pending: Record<ProbeKind, Record<State, number>> = Object.fromEntries(
    PROBE_KINDS.map((k) => [k, zeroes()]),
  ) as Record<ProbeKind, Record<State, number>>;

  constructor(r: Registry) {
    const last = this.last;
    const pending = this.pending;
    this.probeSuccess = new Gauge({
      name: "mirror_probe_success",
      help: "1 when the last probe of a check succeeded (reachable, all conditions met)",
      labelNames: ["check"],
      registers: [r],
      collect() {
        for (const [check, p] of last) this.set({ check }, p.success);
      },
    });
    this.probeDuration = new Gauge({
      name: "mirror_probe_duration_seconds",
      help: "Duration of the last probe of a check",
      labelNames: ["check"],
      registers: [r],
      collect() {
        for (const [check, p] of last) if (p.seconds !== null) this.set({ check }, p.seconds);
      },
    });
    this.state = new Gauge({
      name: "mirror_tracker_state",
      help: "1 for the current state of each tracked service",
      labelNames: ["check", "state"],
      registers: [r],
    });
    this.heartbeatLast = new Gauge({
      name: "mirror_tracker_heartbeat_last_seconds",
      help: "Unix time of the last check-in of a heartbeat check",
      labelNames: ["check"],
      registers: [r],
    });
    this.certExpiry = new Gauge({
      name: "mirror_probe_ssl_earliest_cert_expiry",
      help: "Unix time the TLS certificate of a check expires",
      labelNames: ["check"],
      registers: [r],
      collect() {
        for (const [check, p] of last) if (p.certExpiry !== null) this.set({ check }, p.certExpiry);
      },
    });
    this.probeSeconds = new Histogram({
      name: "mirror_tracker_probe_seconds",
      help: "Probe durations by kind",
      labelNames: ["kind"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    this.probes = new Counter({
      name: "mirror_tracker_probes_total",
      help: "Probes run, by kind and outcome (up, degraded, down)",
      labelNames: ["kind", "outcome"],
      registers: [r],
      collect() {
        for (const kind of PROBE_KINDS) {
          for (const outcome of STATES) {
            const n = pending[kind][outcome];
            if (n === 0) continue;
            pending[kind][outcome] = 0;
            this.inc({ kind, outcome }, n);
          }
        }
      },
    });
    this.heartbeats = new Counter({
      name: "mirror_tracker_heartbeats_total",
      help: "Check-ins received, by source (http, bus), kind and outcome",
      labelNames: ["source", "kind", "outcome"],
      registers: [r],
    });
    this.lag = new Histogram({
      name: "mirror_tracker_schedule_lag_seconds",
      help: "How late checks start after they are due",
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [r],
    });
    this.published = new Counter({
      name: "mirror_tracker_status_published_total",
      help: "Status events published",
      labelNames: ["outcome"],
      registers: [r],
    });
    this.meshMembers = new Gauge({
      name: "mirror_tracker_mesh_members",
      help: "Mesh service instances that answered the last discovery round",
      registers: [r],
    });
    this.meshBadReplies = new Counter({
      name: "mirror_tracker_mesh_bad_replies_total",
      help: "$SRV replies that could not be read",
      labelNames: ["kind"],
      registers: [r],
    });
  }

  /** One probe's outcome: counted, timed, and kept as the check's last probe for its gauges. */
  recordProbe(
    check: string,
    kind: ProbeKind,
    outcome: State,
    latencyMs: number | null,
    certExpiresAt: string | null,
  ): void {
    this.pending[kind][outcome]++;
    let p = this.last.get(check);
    if (!p) {
      p = { success: 0, seconds: null, certExpiry: null };
      this.last.set(check, p);
    }
    p.success = outcome === "up" ? 1 : 0;
    if (latencyMs !== null) {
      p.seconds = latencyMs / 1000;
      this.probeSeconds.observe({ kind }, p.seconds);
    }
    if (certExpiresAt !== null) p.certExpiry = Date.parse(certExpiresAt) / 1000;
  }

  setState(check: string, state: State): void {
    for (const s of STATES) this.state.set({ check, state: s }, s === state ? 1 : 0);
  }
}

function zeroes(): Record<State, number> {
  return { up: 0, degraded: 0, down: 0, unknown: 0 };
}
