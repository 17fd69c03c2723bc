import type { Bus } from "@mirror/bus";
import {
  type CheckStatusSummary,
  type HistoryCheckReply,
  type HistoryRepoReply,
  type HistoryTrendReply,
  type HistoryWindow,
  historyCheck,
  historyRepo,
  historyStatus,
  historyTrend,
} from "@mirror/contracts";
import type { MeshClient } from "./mesh.js";

const TIMEOUT_MS = 3_000;
/** Public pages and badges answer from this cache: anyone may load them, the history is asked at most this often per page. */
const PUBLIC_TTL_MS = 5_000;

/** The history service's endpoints, as the console reads them (the public parts cached briefly). */
export class HistoryClient {
  private readonly cache = new Map<string, { at: number; data: CheckStatusSummary[] }>();

  constructor(
    private readonly bus: Bus,
    private readonly now: () => number,
  ) {}

  check(name: string, window: HistoryWindow): Promise<HistoryCheckReply> {
    return this.bus.request(historyCheck, { name, window }, { timeout: TIMEOUT_MS });
  }

  repo(repo: string, days: number): Promise<HistoryRepoReply> {
    return this.bus.request(historyRepo, { repo, days }, { timeout: TIMEOUT_MS });
  }

  trend(days: number): Promise<HistoryTrendReply> {
    return this.bus.request(historyTrend, { days }, { timeout: TIMEOUT_MS });
  }

  /** Status page and badge figures of these checks, at most PUBLIC_TTL_MS old. */
  async status(checks: readonly string[], days = 90): Promise<CheckStatusSummary[]> {
    const key = `${days}:${checks.join("\n")}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < PUBLIC_TTL_MS && this.now() >= hit.at) return hit.data;
    const { checks: data } = await this.bus.request(
      historyStatus,
      { checks: [...checks], days },
      { timeout: TIMEOUT_MS },
    );
    if (this.cache.size > 200) this.cache.clear();
    this.cache.set(key, { at: this.now(), data });
    return data;
  }
}

const clients = new WeakMap<MeshClient, HistoryClient>();

/**
 * The history client beside a console's MeshClient, on the same bus connection (the console's
 * identity). MeshClient keeps its bus private and is owned by another part of the console, so
 * this reads it by name rather than widening that class.
 */
export function historyClientOf(mesh: MeshClient, now: () => number): HistoryClient {
  let c = clients.get(mesh);
  if (!c) {
    c = new HistoryClient(mesh["bus"], now);
    clients.set(mesh, c);
  }
  return c;
}
