import type { Bus } from "@mirror/bus";
import {
  type AskReply,
  type CheckSummary,
  checksList,
  type CheckStatusSummary,
  type DeliveriesReply,
  historyStatus,
  type Loop,
  type LoopsListRequest,
  loopsAck,
  loopsClose,
  loopsGet,
  loopsList,
  loopsReopen,
  loopsSnooze,
  type MaintenanceAddRequest,
  type MaintenanceInfo,
  maintenanceAdd,
  maintenanceEnd,
  maintenanceList,
  modelAsk,
  notifyDeliveries,
  type Silence,
  type ScanReposReply,
  scanNow,
  scanRepos,
  silenceAdd,
  silenceExpire,
  silenceList,
  errorCodeOf,
  hasErrorCode,
  remoteErrorCode,
  remoteStatusOf,
} from "@mirror/contracts";
import { ConsoleError } from "./errors.js";

/** A read through the bus, with the last good answer kept: a page shows it with its age when the owner is unreachable. */
export interface Fetched<T> {
  data: T | undefined;
  /** When `data` was answered (ms); undefined when never. */
  at: number | undefined;
  /** Which part did not answer, and why; undefined when this answer is fresh. */
  error?: string;
}

export type LoopAction = "ack" | "snooze" | "close" | "reopen";
export const LOOP_ACTIONS: readonly LoopAction[] = ["ack", "snooze", "close", "reopen"];

const TIMEOUT_MS = 3_000;
/** An action waits longer than a read: a read falls back to the last answer, an action has none. */
const ACT_TIMEOUT_MS = 10_000;

/** Everything the console reads and does, only through the owners' bus endpoints. */
export class MeshClient {
  private readonly last = new Map<string, { data: unknown; at: number }>();

  constructor(
    private readonly bus: Bus,
    private readonly now: () => number,
  ) {}

  private async cached<T>(key: string, owner: string, f: () => Promise<T>): Promise<Fetched<T>> {
    try {
      const data = await f();
      const at = this.now();
      if (this.last.size > 500) this.last.clear();
      this.last.set(key, { data, at });
      return { data, at };
    } catch (err) {
      const refused = remoteError(err, owner);
      if (refused.status < 500) throw refused;
      const prev = this.last.get(key);
      return {
        data: prev?.data as T | undefined,
        at: prev?.at,
        error: `${owner} unreachable: ${(err as Error).message}`,
      };
    }
  }

  loops(filter: LoopsListRequest = {}): Promise<Fetched<Loop[]>> {
    return this.cached(
      `loops:${JSON.stringify(filter)}`,
      "loop-detector",
      async () => (await this.bus.request(loopsList, filter, { timeout: TIMEOUT_MS })).loops,
    );
  }

  /** One loop; throws a ConsoleError 404 when the loop-detector does not know it. */
  loop(loopId: string): Promise<Fetched<Loop>> {
    return this.cached(
      `loop:${loopId}`,
      "loop-detector",
      async () => (await this.bus.request(loopsGet, { loopId }, { timeout: TIMEOUT_MS })).loop,
    );
  }

  checks(): Promise<Fetched<CheckSummary[]>> {
    return this.cached(
      "checks",
      "service-tracker",
      async () => (await this.bus.request(checksList, {}, { timeout: TIMEOUT_MS })).checks,
    );
  }

  /** Uptime and incidents per check from the history service (absent when it does not run). */
  history(names: string[]): Promise<Fetched<CheckStatusSummary[]>> {
    return this.cached(
      "history",
      "history",
      async () =>
        (await this.bus.request(historyStatus, { checks: names.slice(0, 1_000), days: 30 }, { timeout: TIMEOUT_MS }))
          .checks,
    );
  }

  /** Acts on a loop as `user:<by>`; remote 404/400/409 come back as ConsoleErrors with that status. */
  async act(loopId: string, action: LoopAction, by: string, snoozeFor?: string): Promise<Loop> {
    try {
      const cmd = { loopId, by };
      if (action === "ack") return (await this.bus.request(loopsAck, cmd, { timeout: ACT_TIMEOUT_MS })).loop;
      if (action === "close") return (await this.bus.request(loopsClose, cmd, { timeout: ACT_TIMEOUT_MS })).loop;
      if (action === "reopen") return (await this.bus.request(loopsReopen, cmd, { timeout: ACT_TIMEOUT_MS })).loop;
      return (await this.bus.request(loopsSnooze, { ...cmd, for: snoozeFor ?? "1h" }, { timeout: ACT_TIMEOUT_MS }))
        .loop;
    } catch (err) {
      throw remoteError(err, "loop-detector");
    }
  }

  repos(): Promise<Fetched<ScanReposReply>> {
    return this.cached("repos", "scanner", () => this.bus.request(scanRepos, {}, { timeout: TIMEOUT_MS }));
  }

  silences(): Promise<Fetched<Silence[]>> {
    return this.cached(
      "silences",
      "notifier",
      async () => (await this.bus.request(silenceList, {}, { timeout: TIMEOUT_MS })).silences,
    );
  }

  /** A silence made by `user:<by>`; the notifier checks the matchers and the end (400 otherwise). */
  async silence(req: { matchers: string[]; for: string; comment?: string }, by: string): Promise<Silence> {
    try {
      return (await this.bus.request(silenceAdd, { ...req, by: `user:${by}` }, { timeout: ACT_TIMEOUT_MS })).silence;
    } catch (err) {
      throw remoteError(err, "notifier");
    }
  }

  async expireSilence(id: string, by: string): Promise<Silence> {
    try {
      return (await this.bus.request(silenceExpire, { id, by: `user:${by}` }, { timeout: ACT_TIMEOUT_MS })).silence;
    } catch (err) {
      throw remoteError(err, "notifier");
    }
  }

  /** The notifier's delivery log per channel, newest first. */
  deliveries(limit = 50, channel?: string): Promise<Fetched<DeliveriesReply>> {
    return this.cached(`deliveries:${channel ?? ""}:${limit}`, "notifier", () =>
      this.bus.request(notifyDeliveries, { limit, ...(channel ? { channel } : {}) }, { timeout: TIMEOUT_MS }),
    );
  }

  /** Maintenance windows (mirror.yaml's and those made at run time), from the loop-detector. */
  maintenance(): Promise<Fetched<MaintenanceInfo[]>> {
    return this.cached(
      "maintenance",
      "loop-detector",
      async () => (await this.bus.request(maintenanceList, {}, { timeout: TIMEOUT_MS })).windows,
    );
  }

  /** A window made by `user:<by>`; the loop-detector checks it (400) and refuses a taken name (409). */
  async addMaintenance(req: Omit<MaintenanceAddRequest, "by">, by: string): Promise<MaintenanceInfo> {
    try {
      return (await this.bus.request(maintenanceAdd, { ...req, by: `user:${by}` }, { timeout: ACT_TIMEOUT_MS })).window;
    } catch (err) {
      throw remoteError(err, "loop-detector");
    }
  }

  /** Ends a window made at run time (404 for an unknown one or one of mirror.yaml). */
  async endMaintenance(name: string, by: string): Promise<MaintenanceInfo> {
    try {
      return (await this.bus.request(maintenanceEnd, { name, by: `user:${by}` }, { timeout: ACT_TIMEOUT_MS })).window;
    } catch (err) {
      throw remoteError(err, "loop-detector");
    }
  }

  /** The running model adapter's answer about the open loops (as `mirror ask` asks). */
  async ask(question: string): Promise<AskReply> {
    const loops =
      (await this.loops({})).data
        ?.filter((l) => l.status !== "closed")
        .slice(0, 300)
        .map((l) => ({ ...l, history: [] })) ?? [];
    try {
      return await this.bus.request(modelAsk, { question, loops, timeoutMs: 55_000 }, { timeout: 60_000 });
    } catch (err) {
      throw remoteError(err, "model adapter");
    }
  }

  async rescan(): Promise<{ repos: number; published: number }> {
    try {
      return await this.bus.request(scanNow, {}, { timeout: 120_000 });
    } catch (err) {
      throw remoteError(err, "scanner");
    }
  }
}

/** A bus error as the console answers it: the owner's 4xx as is, anything else 503 naming the owner. */
export function remoteError(err: unknown, owner: string): ConsoleError {
  const code = errorCodeOf(err);
  const remote = remoteStatusOf(code);
  if (remote !== undefined && remote >= 400 && remote < 500)
    return new ConsoleError(remoteErrorCode(remote), (err as Error).message.replace(/^[^ ]+ answered \d+: /, ""), {
      cause: err,
      status: remote,
    });
  if (hasErrorCode(err, "MIRROR_ERR_VALIDATION"))
    return new ConsoleError("MIRROR_ERR_VALIDATION", (err as Error).message, { cause: err });
  return new ConsoleError("MIRROR_ERR_UNREACHABLE", `${owner} unreachable: ${(err as Error).message}`, { cause: err });
}
